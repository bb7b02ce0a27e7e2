// Test support: an independent look into .xlsx files, with Python's zipfile and XML parser only, so
// tests check what a spreadsheet would see rather than what our own reader makes of it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/process.h"

namespace mnr::test {

// Prints {"sheets": [{"name", "frozen_rows", "cells": {"A1": {"t": "s"|"n"|"b", "v": ...}}}]}.
inline constexpr const char* kXlsxToJson = R"PY(
import json, sys, zipfile, xml.etree.ElementTree as ET
M = '{http://schemas.openxmlformats.org/spreadsheetml/2006/main}'
R = '{http://schemas.openxmlformats.org/officeDocument/2006/relationships}'
z = zipfile.ZipFile(sys.argv[1])
def text(e):
    return ''.join(t.text or '' for t in e.iter(M + 't'))
shared = []
if 'xl/sharedStrings.xml' in z.namelist():
    shared = [text(si) for si in ET.fromstring(z.read('xl/sharedStrings.xml')).findall(M + 'si')]
rels = {r.get('Id'): r.get('Target') for r in ET.fromstring(z.read('xl/_rels/workbook.xml.rels'))}
out = []
for s in ET.fromstring(z.read('xl/workbook.xml')).iter(M + 'sheet'):
    target = rels[s.get(R + 'id')].lstrip('/')
    root = ET.fromstring(z.read(target if target.startswith('xl/') else 'xl/' + target))
    cells = {}
    for c in root.iter(M + 'c'):
        t = c.get('t', 'n'); v = c.find(M + 'v')
        if t == 's': cells[c.get('r')] = {'t': 's', 'v': shared[int(v.text)]}
        elif t == 'inlineStr': cells[c.get('r')] = {'t': 's', 'v': text(c.find(M + 'is'))}
        elif t == 'str': cells[c.get('r')] = {'t': 's', 'v': v.text or ''}
        elif v is not None: cells[c.get('r')] = {'t': t, 'v': float(v.text)}
    pane = root.find('.//' + M + 'pane')
    frozen = int(float(pane.get('ySplit', '0'))) if pane is not None and pane.get('state') == 'frozen' else 0
    out.append({'name': s.get('name'), 'frozen_rows': frozen, 'cells': cells})
print(json.dumps({'sheets': out}))
)PY";

// Runs kXlsxToJson on `path`; an empty object when Python fails (the caller's CHECKs then say what).
inline nlohmann::json XlsxAsJson(const std::string& path) {
  RunResult r = Run({"/usr/bin/python3", "-c", kXlsxToJson, path});
  if (r.exit_code != 0) return nlohmann::json::object({{"python_error", r.err}});
  return nlohmann::json::parse(r.out);
}

}  // namespace mnr::test
