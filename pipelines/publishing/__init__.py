"""The readers' copy of the published mart: a DuckDB file and Parquet files that loads never open for writing.

``kkik`` in ``data/warehouse.duckdb`` stays the pipeline's own last publication. BI tools, notebooks and
DuckDB 1.x readers read ``data/published/`` instead: a new file is written beside the old one and renamed
into place, so a reader that holds the old file open keeps reading the old publication (its inode) and a
reader that reconnects sees the new one, never a half-written mart, and never blocks a load.
"""
