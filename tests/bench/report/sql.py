#!/usr/bin/env python3
"""Prints LT_REPORT_SQL from gateway/lt_report.c with literal parameters, for
EXPLAIN ANALYZE: sql.py SOURCE_DIR FROM TO UNIT GROUP NOW (yyyyMMddHHmmss)."""
import re, sys
src = open(sys.argv[1] + "/gateway/lt_report.c", encoding="utf-8").read()
body = src[src.index("const char LT_REPORT_SQL[] ="):]
body = body[:body.index(";\n")]
sql = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', body)).replace('\\"', '"')
vals = sys.argv[2:7]
for i in range(5, 0, -1):
    sql = sql.replace("$%d" % i, "'%s'" % vals[i - 1].replace("'", "''"))
print(sql)
