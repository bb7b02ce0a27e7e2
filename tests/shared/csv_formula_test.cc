// Spreadsheet-bound CSV cells never start like a formula, and the round trip is exact.
#include <catch2/catch.hpp>

#include "mnr/csv.h"

using namespace mnr;

TEST_CASE("Cells that a spreadsheet would run as formulas are neutralised and restored exactly") {
  CHECK(NeutraliseFormula("=HYPERLINK(\"http://x\",\"y\")") == "'=HYPERLINK(\"http://x\",\"y\")");
  CHECK(NeutraliseFormula("+33 1 23") == "'+33 1 23");
  CHECK(NeutraliseFormula("-5 %") == "'-5 %");
  CHECK(NeutraliseFormula("@SUM(A1)") == "'@SUM(A1)");
  CHECK(NeutraliseFormula("\tx") == "'\tx");
  CHECK(NeutraliseFormula("ligne suspendue") == "ligne suspendue");
  CHECK(NeutraliseFormula("'hello") == "'hello");
  CHECK(NeutraliseFormula("'=x") == "''=x");
  CHECK(NeutraliseFormula("") == "");
  // A hand-written quote that does not guard a formula is kept.
  CHECK(RestoreFormula("'hello") == "'hello");
  CHECK(RestoreFormula("'") == "'");
  for (const std::string s : {"=1+1", "+", "-", "@", "\t", "\r", "'", "''", "'=", "''=1", "'''+", "a=b", "", "x", "'x", "é=", "=é"}) {
    INFO(s);
    CHECK(RestoreFormula(NeutraliseFormula(s)) == s);
    const std::string cell = NeutraliseFormula(s);
    const bool formula_like = !cell.empty() && std::string("=+-@\t\r").find(cell[0]) != std::string::npos;
    CHECK_FALSE(formula_like);
  }
}
