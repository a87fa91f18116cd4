#!/usr/bin/env python3
"""Reads a Strata lake through its Iceberg REST catalog with clients Strata did not write.

- PyIceberg's RestCatalog lists the namespaces and tables, loads every table asked for and scans
  it (row count, and the sum of a column).
- DuckDB with its iceberg extension (loaded from the PyPI packages' files, with httpfs and avro:
  nothing is downloaded) ATTACHes the same REST catalog with a bearer token and runs count(*) and sum().

Usage: check.py --uri http://127.0.0.1:8080/iceberg --token <api key>
                --table commerce.telemetry=total --table sync.telemetry= ...
Prints one JSON object: {"namespaces": [...], "tables": [...], "results": {"ns.table":
{"pyiceberg": {"rows": n, "sum": "..."}, "duckdb": {...}}}}. Sums are strings (exact decimals);
a table without a sum column has "sum": null. Exit 3 if a package is missing (run
scripts/python-tools), 1 on any other failure.
"""

import argparse
import importlib
import json
import os
import sys
from decimal import Decimal

MISSING = 3


def need(module):
    try:
        return importlib.import_module(module)
    except ImportError as e:
        print(
            f"missing Python package for the interop check ({e}); run scripts/python-tools "
            "and use the venv it prints",
            file=sys.stderr,
        )
        sys.exit(MISSING)


def extension_file(package, name):
    """The .duckdb_extension file a `duckdb-extension-<name>` wheel installs."""
    mod = need(package)
    root = os.path.dirname(mod.__file__)
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f == f"{name}.duckdb_extension":
                return os.path.join(dirpath, f)
    print(f"{package} has no {name}.duckdb_extension under {root}", file=sys.stderr)
    sys.exit(MISSING)


def as_text(value):
    if value is None:
        return None
    if isinstance(value, float):
        return repr(value)
    return str(Decimal(value)) if not isinstance(value, str) else value


def with_pyiceberg(uri, token, warehouse, tables):
    need("pyarrow")
    pc = need("pyarrow.compute")
    rest = need("pyiceberg.catalog.rest")
    props = {"uri": uri, "token": token}
    if warehouse:
        props["warehouse"] = warehouse
    catalog = rest.RestCatalog("strata", **props)
    namespaces = sorted(".".join(ns) for ns in catalog.list_namespaces())
    listed = sorted(
        ".".join(t) for ns in catalog.list_namespaces() for t in catalog.list_tables(ns)
    )
    results = {}
    for name, column in tables:
        table = catalog.load_table(name)
        if column:
            data = table.scan(selected_fields=(column,)).to_arrow()
            total = pc.sum(data.column(column)).as_py() if data.num_rows else 0
            results[name] = {"rows": data.num_rows, "sum": as_text(total if total is not None else 0)}
        else:
            data = table.scan().to_arrow()
            results[name] = {"rows": data.num_rows, "sum": None}
    return namespaces, listed, results


def with_duckdb(uri, token, warehouse, tables):
    duckdb = need("duckdb")
    # The REST client of the iceberg extension is httpfs's; iceberg needs avro for manifests.
    httpfs = extension_file("duckdb_extension_httpfs", "httpfs")
    avro = extension_file("duckdb_extension_avro", "avro")
    iceberg = extension_file("duckdb_extension_iceberg", "iceberg")
    con = duckdb.connect(
        config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"}
    )
    con.execute(f"LOAD '{httpfs}'")
    con.execute(f"LOAD '{avro}'")
    con.execute(f"LOAD '{iceberg}'")
    token_sql = token.replace("'", "''")
    con.execute(f"CREATE SECRET strata_token (TYPE iceberg, TOKEN '{token_sql}')")
    uri_sql = uri.replace("'", "''")
    con.execute(
        f"ATTACH '{warehouse or 'strata'}' AS lake (TYPE iceberg, ENDPOINT '{uri_sql}', "
        "SECRET strata_token, ACCESS_DELEGATION_MODE 'none')"
    )
    results = {}
    for name, column in tables:
        ns, table = name.rsplit(".", 1)
        ref = f'lake."{ns}"."{table}"'
        if column:
            rows, total = con.execute(f'SELECT count(*), sum("{column}") FROM {ref}').fetchone()
            results[name] = {"rows": rows, "sum": as_text(total if total is not None else 0)}
        else:
            (rows,) = con.execute(f"SELECT count(*) FROM {ref}").fetchone()
            results[name] = {"rows": rows, "sum": None}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--uri", required=True, help="the REST catalog URI (…/iceberg)")
    parser.add_argument("--token", required=True, help="a Strata API key")
    parser.add_argument("--warehouse", default="strata")
    parser.add_argument(
        "--table",
        action="append",
        default=[],
        metavar="NS.TABLE=COLUMN",
        help="a table to read and the column to sum (empty: count only)",
    )
    parser.add_argument("--skip-duckdb", action="store_true")
    args = parser.parse_args()
    tables = []
    for spec in args.table:
        name, _, column = spec.partition("=")
        tables.append((name, column or None))

    namespaces, listed, py = with_pyiceberg(args.uri, args.token, args.warehouse, tables)
    duck = {} if args.skip_duckdb else with_duckdb(args.uri, args.token, args.warehouse, tables)
    out = {
        "namespaces": namespaces,
        "tables": listed,
        "results": {
            name: {"pyiceberg": py[name], **({"duckdb": duck[name]} if name in duck else {})}
            for name, _ in tables
        },
    }
    print(json.dumps(out, sort_keys=True))


if __name__ == "__main__":
    main()
