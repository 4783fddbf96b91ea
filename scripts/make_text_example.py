#!/usr/bin/env python3
"""Write the small text folder of projects/text_conv1d.ron: assets/languages/.

    python3 scripts/make_text_example.py [--out DIR]

Four classes, english, french, german and spanish, of short made-up sentences:
each is 6 to 12 words drawn from a list of about 60 common words of its language
(written for this project, so no licence applies beyond the repository's).  The
words are random, so no sentence means much; what tells the languages apart is
spelling: "th", "ou", "sch", "ñ", "ü", endings such as "-ung" or "-ción".  That is
what a character-level Conv1D's filters can learn to detect, and what the
feature-map viewer shows them firing on.

Layout: train/<language>/NNN.txt (60 each) and test/<language>/NNN.txt (20 each),
one sentence a file, UTF-8.  Standard library only; a fixed seed and Python's
documented `random.Random` algorithm make the output reproducible.
"""

import argparse
import os
import random
import shutil

SEED = 15
TRAIN, TEST = 60, 20

WORDS = {
    "english": """the of and to in is you that it he was for on are as with his they at be this
        have from or one had by word but not what all were we when your can said there use
        each which she do how their if will up other about out many then them these so some
        her would make like him into time has look two more write go see number way could people
        through thought should know""".split(),
    "french": """le la les de des un une et est être avoir que qui dans pour pas sur avec ce cette
        il elle nous vous ils sont fait faire plus tout comme mais bien aussi leur notre très
        où même peu déjà après avant toujours jamais quelque chose maison temps jour année
        monde enfant homme femme voilà beaucoup trop petit grand nouveau première française
        château garçon""".split(),
    "german": """der die das und ist nicht ein eine ich du er sie wir ihr sind haben werden mit auf
        für von zu auch sich noch nach bei aus wenn schon über dieser können müssen sollen
        wollen immer wieder heute morgen zeit jahr mensch kind haus welt straße schule
        zeitung bahnhof mädchen früh schön größer natürlich zwischen gleich wirklich
        vielleicht übung""".split(),
    "spanish": """el la los las de del un una y es son estar tener que para por con no se su
        como más pero muy también ya todo esta este cuando donde porque hay año niño niña
        señor mañana día noche casa ciudad mundo tiempo vida nación canción corazón siempre
        nunca ahora después antes pequeño grande mucho poco español jugar hablar comer
        escribir""".split(),
}


def sentence(rng, words):
    n = rng.randint(6, 12)
    text = " ".join(rng.choice(words) for _ in range(n))
    return text[0].upper() + text[1:] + "."


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(here, "..", "assets", "languages"))
    args = parser.parse_args()
    if os.path.isdir(args.out):
        shutil.rmtree(args.out)
    rng = random.Random(SEED)
    for split, count in (("train", TRAIN), ("test", TEST)):
        for language in sorted(WORDS):
            folder = os.path.join(args.out, split, language)
            os.makedirs(folder)
            for i in range(count):
                with open(os.path.join(folder, "%03d.txt" % i), "w", encoding="utf-8", newline="\n") as f:
                    f.write(sentence(rng, WORDS[language]) + "\n")
    with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8") as f:
        f.write(README)
    print("wrote", args.out)


README = """# Languages (generated)

A tiny text-classification set for CNN Lab's character-level Conv1D example
(`projects/text_conv1d.ron`): short random sentences in English, French, German and Spanish,
60 training and 20 test files per language (`train/<language>/*.txt`, `test/<language>/*.txt`).

The sentences are strings of common words drawn at random, so they mean little; the languages
differ in spelling, which character filters can learn. Written for this project (word lists
and generator in `scripts/make_text_example.py`), under the repository's licence.

Regenerate (reproducible): `python3 scripts/make_text_example.py`
"""


if __name__ == "__main__":
    main()
