"""What the benchmark files share (private to `datasets/`, as timm keeps its helpers apart from its models):
the flow every dataset follows (`base`), its helpers (`split_files`, `random_splits`, `subsample`,
`class_folders`, `fewshot_checks`, `notices`) and the file handling (`errors`, `listing`, `readers`,
`cached_paths`, `storage`, `published_files`, `datum_pickle`).
"""
