"""`clipfit data prepare`: from a dataset's published files to the layout its loader reads, checked.

One engine for all datasets, driven by the facts each dataset class holds (`published_files`, see
datasets/_shared/published_files.py): `fetch` gets each file (from `--from DIR`, an earlier download or the
network, resuming) and verifies it, `unpack` extracts it into a staging folder inside the dataset folder and
moves the declared parts into place (`imagenet` holds the two unpacking steps plain extraction cannot do),
`dataset` runs those steps for one dataset, adds the official split file and checks the result, `run` does
it for many and prints the table. This module holds only the names of the files it leaves behind, so
`clipfit data check` can read them without importing the rest.
"""

#: inside a dataset folder while its archives are extracted; present afterwards only if a run was interrupted
STAGING_DIR = ".prepare"
#: written last, after the final check, in a dataset folder that `clipfit data prepare` made ready
MARKER_FILE = ".clipfit-prepared.json"
#: under the data root: downloaded archives (`<name>`, verified) and unfinished downloads (`<name>.part`)
DOWNLOADS_DIR = ".clipfit-downloads"
