"""The declared schema of each inbox file type, read from ``expectations/inbox/<file_type>.yml``.

A schema is data, not code: data staff add a published column name (an alias) or a sheet name there
when a publisher renames one, without touching Python. One YAML file per file type:

.. code-block:: yaml

    file_type: insikt                  # must equal the file name and the inbox folder name
    title: Insikt (SKR) ...            # shown in messages and docs
    source: SKR                        # the publisher
    sheets: [Resultat, NKI per kommun] # xlsx: accepted sheet names, first match in workbook order
                                       # (case and spacing ignored); a workbook with none is rejected
    header_search_rows: 30             # the header row must lie within the first N rows
    max_bad_row_share: 0.2             # more bad rows than this share rejects the whole file
    missing_markers: ["..", "-"]       # cells meaning "no value" in number columns (kept as status)
    keys: [municipality_id, year]      # a row's identity, for duplicate detection
    require_one_of: [[a, b, c]]        # optional: at least one column of each group must be present
    columns:
      - name: municipality_id          # our snake_case name (the raw table's column)
        type: municipality             # municipality | text | integer | number | year | gender | boolean
        aliases: [Kommunkod, Kod]      # published header texts (case, spacing and dashes ignored)
        required: true                 # the header must have it (else the file is rejected)
        nullable: false                # an empty cell sends the row to quarantine
        range: [0, 100]                # number/integer/year: inclusive bounds, null = open
        value_map: {Kvinnor: K}        # text/gender: published value -> our value; with `strict`
        strict: true                   #   an unmapped value sends the row to quarantine
        pattern: '^[NU][0-9]{5}$'      # text: the (mapped, upper-cased if `upper`) value must match
        upper: true
        description: ...
    row_rules:                         # optional: bounds that hold only for some rows
      - column: value
        when: {kpi_id: [U11401]}
        range: [0, 100]
        reason: a share (%) must lie within 0-100

A column named ``synthetic`` (type boolean) is the made-up-sample marker: it is not stored as a column
but folded into the raw table's ``is_synthetic`` flag.

Raw table: ``raw.inbox__<file_type>`` has the landing columns (:data:`LANDING_COLUMNS`), then each
declared column in declaration order with its SQL type, and ``<name>_status`` after every nullable
number/integer column (the missing marker as published, e.g. ``..``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from pipelines.config import EXPECTATIONS_DIR

SCHEMA_DIR = EXPECTATIONS_DIR / "inbox"

COLUMN_TYPES = {
    "municipality": "varchar",
    "text": "varchar",
    "integer": "bigint",
    "number": "double",
    "year": "integer",
    "gender": "varchar",
    "boolean": "boolean",
}
NUMERIC_TYPES = ("integer", "number")
SYNTHETIC_COLUMN = "synthetic"

#: Columns every raw inbox table starts with (name, SQL type).
LANDING_COLUMNS = (
    ("load_id", "varchar not null"),
    ("file_sha256", "varchar not null"),
    ("file_name", "varchar not null"),
    ("sheet", "varchar"),
    ("row_number", "integer not null"),
    ("landed_at", "timestamptz not null"),
    ("is_synthetic", "boolean not null"),
)

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available: 20× faster
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")


class SchemaError(ValueError):
    """A schema file is not valid; the message names the file and the problem."""


def normalize_label(text: object) -> str:
    """How header texts, sheet names and mapped values are compared: Unicode NFC, case-folded, any dash
    as ``-``, whitespace (also non-breaking) collapsed, a trailing ``:`` or ``*`` dropped."""
    if text is None:
        return ""
    value = unicodedata.normalize("NFC", str(text)).translate(_DASHES).casefold()
    value = re.sub(r"\s+", " ", value.replace("\u00a0", " ").replace("\u202f", " ")).strip()
    return value.rstrip(":*").strip()


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    type: str
    aliases: tuple[str, ...]
    required: bool = True
    nullable: bool = False
    range: tuple[float | None, float | None] | None = None
    value_map: dict[str, str] = field(default_factory=dict)  # normalized published value -> our value
    strict: bool = False
    pattern: str | None = None
    upper: bool = False
    description: str = ""

    @property
    def sql_type(self) -> str:
        return COLUMN_TYPES[self.type]

    @property
    def has_status(self) -> bool:
        return self.type in NUMERIC_TYPES and self.nullable

    @property
    def label(self) -> str:
        """The first alias: the name a person sees in the published file."""
        return self.aliases[0] if self.aliases else self.name


@dataclass(frozen=True)
class RowRule:
    column: str
    when: dict[str, tuple[str, ...]]
    range: tuple[float | None, float | None]
    reason: str

    def applies(self, values: dict) -> bool:
        return all(values.get(col) in accepted for col, accepted in self.when.items())


@dataclass(frozen=True)
class InboxSchema:
    file_type: str
    title: str
    source: str
    columns: tuple[ColumnSpec, ...]
    keys: tuple[str, ...]
    sheets: tuple[str, ...] = ()
    header_search_rows: int = 30
    max_bad_row_share: float = 0.2
    missing_markers: tuple[str, ...] = ("..", ".", "-", "x", "*")
    require_one_of: tuple[tuple[str, ...], ...] = ()
    row_rules: tuple[RowRule, ...] = ()
    description: str = ""
    path: Path | None = None

    @property
    def table(self) -> str:
        return f"raw.inbox__{self.file_type}"

    def column(self, name: str) -> ColumnSpec:
        for spec in self.columns:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def stored_columns(self) -> tuple[ColumnSpec, ...]:
        return tuple(c for c in self.columns if c.name != SYNTHETIC_COLUMN)

    def raw_columns(self) -> list[tuple[str, str]]:
        """(name, SQL type) of the raw table, landing columns first."""
        out = list(LANDING_COLUMNS)
        for spec in self.stored_columns:
            out.append((spec.name, spec.sql_type))
            if spec.has_status:
                out.append((f"{spec.name}_status", "varchar"))
        return out

    def ddl(self) -> str:
        cols = ",\n    ".join(f"{name} {sql_type}" for name, sql_type in self.raw_columns())
        return f"create table if not exists {self.table} (\n    {cols})"


def _bounds(raw, where: str) -> tuple[float | None, float | None] | None:
    if raw is None:
        return None
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise SchemaError(f"{where}: range must be [low, high] (null for open), not {raw!r}")
    low, high = (None if v is None else float(v) for v in raw)
    if low is not None and high is not None and low > high:
        raise SchemaError(f"{where}: range low {low} > high {high}")
    return low, high


def _column(raw: dict, where: str) -> ColumnSpec:
    if not isinstance(raw, dict) or "name" not in raw:
        raise SchemaError(f"{where}: every column needs a name")
    name = str(raw["name"])
    where = f"{where}, column {name!r}"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise SchemaError(f"{where}: names are lower snake_case")
    ctype = raw.get("type", "text")
    if ctype not in COLUMN_TYPES:
        raise SchemaError(f"{where}: type {ctype!r} is not one of {sorted(COLUMN_TYPES)}")
    aliases = tuple(str(a) for a in raw.get("aliases") or ())
    if not aliases:
        raise SchemaError(f"{where}: needs at least one alias (the published header text)")
    value_map = {normalize_label(k): str(v) for k, v in (raw.get("value_map") or {}).items()}
    pattern = raw.get("pattern")
    if pattern:
        re.compile(pattern)
    unknown = set(raw) - {"name", "type", "aliases", "required", "nullable", "range", "value_map", "strict",
                          "pattern", "upper", "description"}
    if unknown:
        raise SchemaError(f"{where}: unknown keys {sorted(unknown)}")
    return ColumnSpec(
        name=name, type=ctype, aliases=aliases, required=bool(raw.get("required", True)),
        nullable=bool(raw.get("nullable", False)), range=_bounds(raw.get("range"), where), value_map=value_map,
        strict=bool(raw.get("strict", False)), pattern=pattern, upper=bool(raw.get("upper", False)),
        description=str(raw.get("description", "")).strip(),
    )


def load_schema(path: Path) -> InboxSchema:
    """Read and check one schema file."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise SchemaError(f"{path}: not valid YAML: {exc}") from exc
    where = str(path)
    if not isinstance(raw, dict):
        raise SchemaError(f"{where}: expected a mapping at the top")
    file_type = raw.get("file_type")
    if file_type != path.stem:
        raise SchemaError(f"{where}: file_type {file_type!r} must equal the file name {path.stem!r}")
    columns = tuple(_column(c, where) for c in raw.get("columns") or ())
    names = [c.name for c in columns]
    if len(set(names)) != len(names):
        raise SchemaError(f"{where}: duplicate column names")
    if "municipality_id" not in names or "year" not in names:
        raise SchemaError(f"{where}: every file type needs municipality_id and year columns")
    seen: dict[str, str] = {}
    for spec in columns:
        for alias in spec.aliases:
            key = normalize_label(alias)
            if key in seen and seen[key] != spec.name:
                raise SchemaError(f"{where}: alias {alias!r} is given for both {seen[key]!r} and {spec.name!r}")
            seen[key] = spec.name
    keys = tuple(raw.get("keys") or ())
    if not keys or set(keys) - set(names):
        raise SchemaError(f"{where}: keys {list(keys)} must be declared columns")
    groups = tuple(tuple(g) for g in raw.get("require_one_of") or ())
    for group in groups:
        if set(group) - set(names):
            raise SchemaError(f"{where}: require_one_of names unknown columns {sorted(set(group) - set(names))}")
    rules = []
    for i, rule in enumerate(raw.get("row_rules") or ()):
        rwhere = f"{where}, row_rules[{i}]"
        if rule.get("column") not in names or set(rule.get("when") or {}) - set(names):
            raise SchemaError(f"{rwhere}: column and when must name declared columns")
        rules.append(RowRule(
            column=rule["column"],
            when={col: tuple(str(v) for v in vals) for col, vals in rule["when"].items()},
            range=_bounds(rule.get("range"), rwhere),
            reason=str(rule.get("reason", "")).strip(),
        ))
    share = float(raw.get("max_bad_row_share", 0.2))
    if not 0 <= share < 1:
        raise SchemaError(f"{where}: max_bad_row_share must lie in [0, 1)")
    return InboxSchema(
        file_type=file_type,
        title=str(raw.get("title", file_type)),
        source=str(raw.get("source", "")),
        description=str(raw.get("description", "")).strip(),
        columns=columns,
        keys=keys,
        sheets=tuple(str(s) for s in raw.get("sheets") or ()),
        header_search_rows=int(raw.get("header_search_rows", 30)),
        max_bad_row_share=share,
        missing_markers=tuple(str(m) for m in raw.get("missing_markers", InboxSchema.missing_markers)),
        require_one_of=groups,
        row_rules=tuple(rules),
        path=path,
    )


def load_schemas(schema_dir: Path | None = None) -> dict[str, InboxSchema]:
    """Every ``<file_type>.yml`` in the folder (default ``expectations/inbox``), by file type. Read again
    whenever a file changed (a sensor calls this every tick)."""
    folder = Path(schema_dir or SCHEMA_DIR)
    paths = sorted(folder.glob("*.yml"))
    if not paths:
        raise SchemaError(f"{folder}: no inbox schemas (*.yml) found")
    return dict(_load_cached(tuple((str(p), p.stat().st_mtime_ns) for p in paths)))


@lru_cache(maxsize=8)
def _load_cached(files: tuple[tuple[str, int], ...]) -> tuple[tuple[str, InboxSchema], ...]:
    return tuple((Path(path).stem, load_schema(Path(path))) for path, _ in files)
