#!/usr/bin/env python3
"""Build the bundled GunPoint time-series asset from the `aeon` package on PyPI.

Run once from anywhere:  python3 scripts/convert_sequences.py [--out DIR] [--wheel FILE]

It needs `pip` (any venv's) and network access to PyPI, unless --wheel names an
already downloaded aeon wheel.  It fetches `aeon==1.6.0` with
`pip download aeon==1.6.0 --no-deps`, reads GunPoint_TRAIN.ts and GunPoint_TEST.ts
(the UCR archive's files, in sktime/aeon .ts format) straight out of the wheel,
and writes assets/gunpoint/train.csv and test.csv: one series per row, 150
values rounded to 4 decimals (the originals are z-normalised, so 1e-4 is far
below anything a classifier reads), then a `label` column holding the class
name ("gun" or "point").  CNN Lab reads them with its ordinary CSV loader, so
the bundled set doubles as an example of the CSV format.  Standard library
only; the output is byte-for-byte reproducible.
"""

import argparse
import io
import os
import subprocess
import sys
import tempfile
import zipfile

AEON = "aeon==1.6.0"
MEMBER = "aeon/datasets/data/GunPoint/GunPoint_%s.ts"
# The UCR archive's class 1 is Gun-Draw, class 2 Point (see the .ts header).
CLASS_NAMES = {"1": "gun", "2": "point"}
STEPS = 150


def fail(msg):
    print("convert_sequences: error: " + msg, file=sys.stderr)
    sys.exit(1)


def download_wheel(dest):
    pip = [sys.executable, "-m", "pip"]
    try:
        subprocess.run(pip + ["download", AEON, "--no-deps", "-d", dest, "-q"], check=True)
    except subprocess.CalledProcessError as e:
        fail("`pip download %s --no-deps` failed (%s)" % (AEON, e))
    wheels = [f for f in os.listdir(dest) if f.endswith(".whl")]
    if not wheels:
        fail("pip downloaded no wheel into " + dest)
    return os.path.join(dest, wheels[0])


def read_ts(text, name):
    """Rows of (values, label) from a univariate, equal-length .ts file."""
    rows = []
    in_data = False
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not in_data:
            in_data = line.lower() == "@data"
            continue
        series, _, label = line.rpartition(":")
        values = [float(v) for v in series.split(",")]
        if len(values) != STEPS:
            fail("%s line %d: %d values, expected %d" % (name, number, len(values), STEPS))
        if label not in CLASS_NAMES:
            fail("%s line %d: unknown class %r" % (name, number, label))
        rows.append((values, CLASS_NAMES[label]))
    return rows


def write_csv(path, rows):
    out = io.StringIO()
    out.write(",".join("t%d" % i for i in range(STEPS)) + ",label\n")
    for values, label in rows:
        out.write(",".join("%.4f" % v for v in values).replace("-0.0000", "0.0000"))
        out.write("," + label + "\n")
    with open(path, "w", newline="\n") as f:
        f.write(out.getvalue())


README = """# GunPoint (bundled)

A real 1-D dataset for CNN Lab's Conv1D lessons: {train} training and {test} test series
of {steps} steps, 2 classes.

Two actors either draw a replica gun from a hip holster, point it at a target for about a
second and put it back (**gun**), or point with their index finger (**point**). Each series is
the X coordinate of the centroid of the actor's right hand over 150 video frames, z-normalised
per series. Class counts: train {train_counts}; test {test_counts}.

## Files
- `train.csv`, `test.csv`: one series per row, columns `t0` … `t149` (4 decimals), then
  `label` (`gun` or `point`). Load them like any CSV in CNN Lab
  (`--data assets/gunpoint/train.csv#label`), or by name: `dataset: Bundled("gunpoint")`.

## Source and licence
- Data: the UCR Time Series Classification Archive, GunPoint (Ratanamahatana & Keogh, 2005).
  Cite: H. A. Dau, E. Keogh, K. Kamgar, C.-C. M. Yeh, Y. Zhu, S. Gharghabi, C. A. Ratanamahatana,
  Yanping, B. Hu, N. Begum, A. Bagnall, A. Mueen, G. Batista, "The UCR Time Series Classification
  Archive", 2018, https://www.cs.ucr.edu/~eamonn/time_series_data_2018/ ; and C. A.
  Ratanamahatana, E. Keogh, "Three myths about dynamic time warping data mining", SDM 2005.
  The archive asks that users cite it; it is provided freely for research and teaching.
- Files taken from the `aeon` package on PyPI ({aeon}, BSD 3-Clause licence, package data
  `aeon/datasets/data/GunPoint/GunPoint_TRAIN.ts` and `GunPoint_TEST.ts`), the archive's
  original train/test split unchanged.

## Regenerate
    python3 scripts/convert_sequences.py            # pip download {aeon} --no-deps, then convert
    python3 scripts/convert_sequences.py --wheel aeon-1.6.0-py3-none-any.whl
"""


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(here, "..", "assets"))
    parser.add_argument("--wheel", help="an already downloaded aeon wheel")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or download_wheel(tmp)
        with zipfile.ZipFile(wheel) as z:
            splits = {}
            for part in ("TRAIN", "TEST"):
                name = MEMBER % part
                splits[part] = read_ts(z.read(name).decode("utf-8"), name)
    out = os.path.join(args.out, "gunpoint")
    os.makedirs(out, exist_ok=True)
    write_csv(os.path.join(out, "train.csv"), splits["TRAIN"])
    write_csv(os.path.join(out, "test.csv"), splits["TEST"])

    def counts(rows):
        return ", ".join(
            "%d %s" % (sum(1 for _, l in rows if l == c), c) for c in sorted(CLASS_NAMES.values())
        )

    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(README.format(
            train=len(splits["TRAIN"]), test=len(splits["TEST"]), steps=STEPS,
            train_counts=counts(splits["TRAIN"]), test_counts=counts(splits["TEST"]), aeon=AEON,
        ))
    print("wrote", out)


if __name__ == "__main__":
    main()
