// Office Open XML workbooks (.xlsx): one writer and one reader for every spreadsheet the tools read or
// write. Writing uses Debian's libxlsxwriter; reading is a small bounded reader over the zip (zlib
// inflate) and the sheet XML, because no Debian C++ library reads xlsx. Stateless; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <variant>
#include <vector>

#include "mnr/status.h"

namespace mnr::xlsx {

// A cell: empty, text, or a number (numbers are written as numbers, so Excel can sum them).
using Cell = std::variant<std::monostate, std::string, double>;
struct Sheet { std::string name; std::vector<std::string> header; std::vector<std::vector<Cell>> rows; };

// Writes `sheets` to `path` atomically (temporary file, fsync, rename): header bold and frozen, columns
// sized. Text is written as given: callers neutralise free text (NeutraliseFormula in csv.h) first.
// Refuses an empty list, a sheet name Excel would refuse (empty, > 31 characters, []:*?/\, or a
// duplicate) and text that is not UTF-8, naming the sheet; `path` is never left half-written.
Status WriteWorkbook(const std::string& path, const std::vector<Sheet>& sheets);

// Reads every worksheet in workbook order. Row 1 is the header (its trailing empty cells dropped);
// `rows[i]` is spreadsheet row i + 2, padded to the header's width, so errors can name the cell with
// CellRef(i + 2, column); empty rows inside the data are kept (as empty cells), trailing ones are not.
// Dates and formulas are read as their cached value (a number or text), booleans as TRUE or FALSE.
// Refuses with file/sheet/cell named on bad input: not a zip, a damaged or encrypted entry, XML it
// cannot read, an error value (#N/A), a value in a column the header does not name. Bounded sizes (zip
// bomb safe): the file, the inflated total, each entry's compression ratio, entries, sheets and cells
// all have limits, and exceeding one is an error, never a truncation.
Result<std::vector<Sheet>> ReadWorkbook(const std::string& path);

// "C12" for row 12 (1-based, as Excel numbers rows) and column 2 (0-based, as in Sheet::header).
std::string CellRef(std::size_t row, std::size_t column);
// A cell as text: empty, the text, or the number as typed (2022, 0.5; the shortest exact form).
std::string CellText(const Cell& cell);

}  // namespace mnr::xlsx
