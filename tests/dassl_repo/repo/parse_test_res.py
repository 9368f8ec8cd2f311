"""Mean and std of `* accuracy` over the seed folders of a directory (CoOp's parser, in short)."""
import argparse
import os.path as osp
import re

import numpy as np
from dassl.utils import check_isfile, listdir_nohidden


def parse(directory, end_signal):
    values = []
    for subdir in listdir_nohidden(directory, sort=True):
        fpath = osp.join(directory, subdir, "log.txt")
        assert check_isfile(fpath)
        good, value = False, None
        with open(fpath) as f:
            for line in f:
                line = line.strip()
                good = good or line == end_signal
                match = re.search(r"\* accuracy: ([\.\deE+-]+)%", line)
                if good and match:
                    value = float(match.group(1))
        if value is not None:
            print(f"file: {fpath}. accuracy: {value:.2f}%. ")
            values.append(value)
    assert values, f"Nothing found in {directory}"
    print(f"* accuracy: {np.mean(values):.2f}% +- {np.std(values):.2f}%")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--test-log", action="store_true")
    args = parser.parse_args()
    parse(args.directory, "=> result" if args.test_log else "Finish training")
