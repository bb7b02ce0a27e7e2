#include "mnr/xlsx.h"

#include <expat.h>
#include <fcntl.h>
#include <minizip/unzip.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "mnr/file_util.h"
#include "mnr/limits.h"
#include "mnr/utf8.h"

namespace mnr::xlsx {
namespace {

// Excel's own limits: a workbook beyond them would not open.
constexpr std::size_t kMaxRows = 1048576;
constexpr std::size_t kMaxColumns = 16384;
constexpr std::size_t kMaxCellChars = 32767;
constexpr std::size_t kMaxSheetNameChars = 31;

// Reading: a file larger than an import, or one that inflates to far more than its size, is refused
// before it can fill memory. Real workbooks inflate 5 to 30 times; zip bombs, thousands of times.
constexpr std::size_t kMaxFileBytes = limits::kImportFileBytes;
constexpr std::uint64_t kMaxInflatedBytes = 256ull << 20;  // all entries read, together
constexpr std::uint64_t kMaxRatio = 200;                   // inflated / compressed, per entry
constexpr std::uint64_t kRatioSlack = 1u << 20;            // small entries may compress better
constexpr std::uint64_t kMaxEntries = 10000;
constexpr std::size_t kMaxSheets = 256;
constexpr std::size_t kMaxCells = 2'000'000;  // per workbook, after padding rows to the header
constexpr std::size_t kMaxSharedStrings = 1'000'000;
constexpr std::size_t kMaxTextBytes = kMaxCellChars * 4;  // one cell's text, UTF-8
constexpr std::size_t kChunkBytes = 64 * 1024;

std::size_t Utf8Chars(std::string_view s) {
  std::size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

std::string Quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

// ---------------------------------------------------------------------------------------------------
// Writing

std::string LxwError(lxw_error e) { return lxw_strerror(e); }

// Display width of a cell in Excel's character units: the longest line, with room for the filter
// arrow, between a readable minimum and a maximum that keeps notes from pushing everything off screen.
double ColumnWidth(const Sheet& sheet, std::size_t col) {
  std::size_t widest = col < sheet.header.size() ? Utf8Chars(sheet.header[col]) + 2 : 0;
  for (const auto& row : sheet.rows) {
    if (col >= row.size()) continue;
    std::string text = CellText(row[col]);
    std::size_t line_start = 0;
    for (;;) {
      const std::size_t end = text.find('\n', line_start);
      widest = std::max(widest, Utf8Chars(std::string_view(text).substr(line_start, end - line_start)));
      if (end == std::string::npos) break;
      line_start = end + 1;
    }
  }
  return static_cast<double>(std::clamp<std::size_t>(widest + 1, 8, 60));
}

Status CheckSheets(const std::vector<Sheet>& sheets) {
  if (sheets.empty()) return Status::InvalidArgument("a workbook needs at least one sheet");
  std::set<std::string> names;
  for (const Sheet& s : sheets) {
    const std::string at = "sheet " + Quoted(s.name) + ": ";
    if (s.name.empty() || !IsValidUtf8(s.name) || Utf8Chars(s.name) > kMaxSheetNameChars ||
        s.name.find_first_of("[]:*?/\\") != std::string::npos || s.name.front() == '\'' || s.name.back() == '\'') {
      return Status::InvalidArgument(at + "not a sheet name Excel accepts (1 to 31 characters, none of []:*?/\\)");
    }
    std::string folded = s.name;
    for (char& c : folded) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (!names.insert(folded).second) return Status::InvalidArgument(at + "appears twice");
    std::size_t width = s.header.size();
    for (const auto& row : s.rows) width = std::max(width, row.size());
    if (width > kMaxColumns) return Status::InvalidArgument(at + "more than 16,384 columns");
    if (s.rows.size() + 1 > kMaxRows) return Status::InvalidArgument(at + "more than 1,048,575 rows");
    const auto check = [&](std::size_t r, std::size_t c, const Cell& cell) -> Status {
      const std::string where = at + "cell " + CellRef(r, c) + ": ";
      if (const auto* text = std::get_if<std::string>(&cell)) {
        if (!IsValidUtf8(*text)) return Status::InvalidArgument(where + "text is not valid UTF-8");
        if (text->find('\0') != std::string::npos) return Status::InvalidArgument(where + "text holds a NUL byte");
        if (Utf8Chars(*text) > kMaxCellChars) {
          return Status::InvalidArgument(where + "text longer than 32,767 characters (Excel's limit)");
        }
      } else if (const auto* number = std::get_if<double>(&cell)) {
        if (!std::isfinite(*number)) return Status::InvalidArgument(where + "not a finite number");
      }
      return Status::OK();
    };
    for (std::size_t c = 0; c < s.header.size(); ++c) MNR_RETURN_IF_ERROR(check(1, c, Cell(s.header[c])));
    for (std::size_t r = 0; r < s.rows.size(); ++r) {
      for (std::size_t c = 0; c < s.rows[r].size(); ++c) MNR_RETURN_IF_ERROR(check(r + 2, c, s.rows[r][c]));
    }
  }
  return Status::OK();
}

Status FillSheet(lxw_workbook* wb, lxw_format* bold, const Sheet& s) {
  const std::string at = "sheet " + Quoted(s.name) + ": ";
  lxw_worksheet* ws = workbook_add_worksheet(wb, s.name.c_str());
  if (!ws) return Status::IOError(at + "libxlsxwriter could not add it");
  const auto put = [&](std::size_t r, std::size_t c, const Cell& cell, lxw_format* format) -> Status {
    lxw_error e = LXW_NO_ERROR;
    const auto row = static_cast<lxw_row_t>(r - 1);
    const auto col = static_cast<lxw_col_t>(c);
    if (const auto* text = std::get_if<std::string>(&cell)) {
      e = worksheet_write_string(ws, row, col, text->c_str(), format);
    } else if (const auto* number = std::get_if<double>(&cell)) {
      e = worksheet_write_number(ws, row, col, *number, format);
    }
    if (e != LXW_NO_ERROR) return Status::IOError(at + "cell " + CellRef(r, c) + ": " + LxwError(e));
    return Status::OK();
  };
  std::size_t width = s.header.size();
  for (std::size_t c = 0; c < s.header.size(); ++c) MNR_RETURN_IF_ERROR(put(1, c, Cell(s.header[c]), bold));
  for (std::size_t r = 0; r < s.rows.size(); ++r) {
    width = std::max(width, s.rows[r].size());
    for (std::size_t c = 0; c < s.rows[r].size(); ++c) MNR_RETURN_IF_ERROR(put(r + 2, c, s.rows[r][c], nullptr));
  }
  for (std::size_t c = 0; c < width; ++c) {
    const auto col = static_cast<lxw_col_t>(c);
    if (lxw_error e = worksheet_set_column(ws, col, col, ColumnWidth(s, c), nullptr); e != LXW_NO_ERROR) {
      return Status::IOError(at + "column width: " + LxwError(e));
    }
  }
  // The header stays in view while scrolling, as in a form.
  worksheet_freeze_panes(ws, 1, 0);
  return Status::OK();
}

// ---------------------------------------------------------------------------------------------------
// Reading: the zip layer (minizip, read only, every size bounded)

struct UnzClose {
  void operator()(void* f) const { unzClose(f); }
};

class Zip {
 public:
  static Result<Zip> Open(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return Status::IOError(path + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(path + ": not a regular file");
    if (static_cast<std::uint64_t>(st.st_size) > kMaxFileBytes) {
      return Status::InvalidArgument(path + ": larger than " + std::to_string(kMaxFileBytes >> 20) + " MiB");
    }
    {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return Status::IOError(path + ": " + std::strerror(errno));
      char magic[4] = {};
      const ssize_t n = ::read(fd, magic, sizeof magic);
      ::close(fd);
      if (n != 4 || std::memcmp(magic, "PK\x03\x04", 4) != 0) {
        return Status::InvalidArgument(path + ": not an xlsx workbook (not a zip file)");
      }
    }
    Zip zip;
    zip.path_ = path;
    zip.file_.reset(unzOpen64(path.c_str()));
    if (!zip.file_) return Status::InvalidArgument(path + ": not an xlsx workbook (damaged zip: no readable directory)");
    unz_global_info64 info{};
    if (unzGetGlobalInfo64(zip.file_.get(), &info) != UNZ_OK) {
      return Status::InvalidArgument(path + ": damaged zip (unreadable directory)");
    }
    if (info.number_entry > kMaxEntries) {
      return Status::InvalidArgument(path + ": " + std::to_string(info.number_entry) + " zip entries (at most " +
                                     std::to_string(kMaxEntries) + ")");
    }
    return zip;
  }

  bool Has(const std::string& name) { return unzLocateFile(file_.get(), name.c_str(), 1) == UNZ_OK; }

  // Inflates entry `name` and hands it to `sink` in chunks. Refuses an encrypted or unknown
  // compression, an entry that inflates past the limits (checked as it inflates, so a lying header
  // does not help) and a damaged stream or checksum.
  Status Stream(const std::string& name, const std::function<Status(std::string_view)>& sink) {
    const std::string at = path_ + ": entry " + name + ": ";
    if (unzLocateFile(file_.get(), name.c_str(), 1) != UNZ_OK) return Status::InvalidArgument(at + "missing");
    unz_file_info64 info{};
    if (unzGetCurrentFileInfo64(file_.get(), &info, nullptr, 0, nullptr, 0, nullptr, 0) != UNZ_OK) {
      return Status::InvalidArgument(at + "damaged directory record");
    }
    if (info.flag & 1) return Status::InvalidArgument(at + "encrypted (save the workbook without a password)");
    if (info.compression_method != 0 && info.compression_method != Z_DEFLATED) {
      return Status::InvalidArgument(at + "unsupported compression method " + std::to_string(info.compression_method));
    }
    const auto too_big = [&](std::uint64_t inflated) {
      return inflated > info.compressed_size * kMaxRatio + kRatioSlack || inflated_ + inflated > kMaxInflatedBytes;
    };
    const std::string bomb = "inflates to more than " + std::to_string(kMaxRatio) + " times its size or past " +
                             std::to_string(kMaxInflatedBytes >> 20) + " MiB in all (refused as a zip bomb)";
    if (too_big(info.uncompressed_size)) return Status::InvalidArgument(at + bomb);
    if (unzOpenCurrentFile(file_.get()) != UNZ_OK) return Status::InvalidArgument(at + "cannot be opened (damaged)");
    std::string buffer(kChunkBytes, '\0');
    std::uint64_t inflated = 0;
    Status status;
    for (;;) {
      const int n = unzReadCurrentFile(file_.get(), buffer.data(), static_cast<unsigned>(buffer.size()));
      if (n < 0) {
        status = Status::InvalidArgument(at + "damaged compressed data (error " + std::to_string(n) + ")");
        break;
      }
      if (n == 0) break;
      inflated += static_cast<std::uint64_t>(n);
      if (too_big(inflated)) {
        status = Status::InvalidArgument(at + bomb);
        break;
      }
      status = sink(std::string_view(buffer.data(), static_cast<std::size_t>(n)));
      if (!status.ok()) break;
    }
    const int closed = unzCloseCurrentFile(file_.get());
    inflated_ += inflated;
    if (!status.ok()) return status;
    if (closed == UNZ_CRCERROR) return Status::InvalidArgument(at + "checksum mismatch (damaged)");
    if (closed != UNZ_OK) return Status::InvalidArgument(at + "damaged (error " + std::to_string(closed) + ")");
    return Status::OK();
  }

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::unique_ptr<void, UnzClose> file_;
  std::uint64_t inflated_ = 0;
};

// ---------------------------------------------------------------------------------------------------
// Reading: the XML layer (expat, streaming; no DTD, so no entity expansion of any kind)

// A namespaced name from expat ("uri\x01local") without its namespace.
std::string_view Local(const XML_Char* name) {
  std::string_view s(name);
  const auto sep = s.rfind('\x01');
  return sep == std::string_view::npos ? s : s.substr(sep + 1);
}

std::optional<std::string_view> Attr(const XML_Char** attrs, std::string_view local) {
  for (std::size_t i = 0; attrs[i]; i += 2) {
    if (Local(attrs[i]) == local) return std::string_view(attrs[i + 1]);
  }
  return std::nullopt;
}

// Receives the events of one XML part; `Fail` stops the parse with a message.
class XmlHandler {
 public:
  virtual ~XmlHandler() = default;
  virtual void Start(std::string_view element, const XML_Char** attrs) = 0;
  virtual void End(std::string_view element) = 0;
  virtual void Text(std::string_view) {}
  void Fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    XML_StopParser(parser_, XML_FALSE);
  }
  const std::string& error() const { return error_; }
  void Attach(XML_Parser p) { parser_ = p; }

 private:
  XML_Parser parser_ = nullptr;
  std::string error_;
};

struct ParserFree {
  void operator()(XML_ParserStruct* p) const { XML_ParserFree(p); }
};

Status ParsePart(Zip& zip, const std::string& entry, XmlHandler& handler) {
  std::unique_ptr<XML_ParserStruct, ParserFree> parser(XML_ParserCreateNS("UTF-8", '\x01'));
  if (!parser) return Status::IOError("cannot create an XML parser");
  XML_Parser p = parser.get();
  handler.Attach(p);
  XML_SetUserData(p, &handler);
  XML_SetElementHandler(
      p,
      [](void* h, const XML_Char* name, const XML_Char** attrs) {
        static_cast<XmlHandler*>(h)->Start(Local(name), attrs);
      },
      [](void* h, const XML_Char* name) { static_cast<XmlHandler*>(h)->End(Local(name)); });
  XML_SetCharacterDataHandler(p, [](void* h, const XML_Char* s, int len) {
    static_cast<XmlHandler*>(h)->Text(std::string_view(s, static_cast<std::size_t>(len)));
  });
  // Spreadsheet parts never declare a DTD; one here can only be an entity expansion attack.
  XML_SetStartDoctypeDeclHandler(p, [](void* h, const XML_Char*, const XML_Char*, const XML_Char*, int) {
    static_cast<XmlHandler*>(h)->Fail("declares a DTD (not allowed in a workbook)");
  });
  const std::string at = zip.path() + ": entry " + entry + ": ";
  const auto report = [&]() {
    if (!handler.error().empty()) return Status::InvalidArgument(at + handler.error());
    return Status::InvalidArgument(at + "XML error at line " + std::to_string(XML_GetCurrentLineNumber(p)) + ": " +
                                   XML_ErrorString(XML_GetErrorCode(p)));
  };
  Status s = zip.Stream(entry, [&](std::string_view chunk) -> Status {
    if (XML_Parse(p, chunk.data(), static_cast<int>(chunk.size()), XML_FALSE) != XML_STATUS_OK) return report();
    return Status::OK();
  });
  if (!s.ok()) return s;
  if (XML_Parse(p, "", 0, XML_TRUE) != XML_STATUS_OK) return report();
  if (!handler.error().empty()) return report();
  return Status::OK();
}

// OOXML escapes characters XML cannot carry as _xHHHH_ (ECMA-376 ST_Xstring); Excel decodes them.
std::string DecodeEscapes(std::string_view s) {
  if (s.find("_x") == std::string_view::npos) return std::string(s);
  std::string out;
  for (std::size_t i = 0; i < s.size();) {
    unsigned cp = 0;
    if (i + 7 <= s.size() && s[i] == '_' && s[i + 1] == 'x' && s[i + 6] == '_' &&
        std::from_chars(s.data() + i + 2, s.data() + i + 6, cp, 16).ptr == s.data() + i + 6 &&
        (cp < 0xD800 || cp > 0xDFFF)) {
      if (cp < 0x80) {
        out += static_cast<char>(cp);
      } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
      }
      i += 7;
    } else {
      out += s[i++];
    }
  }
  return out;
}

// xl/workbook.xml: the sheets in order, with their relationship ids.
class WorkbookPart : public XmlHandler {
 public:
  struct Entry {
    std::string name, rel;
  };
  std::vector<Entry> sheets;
  void Start(std::string_view element, const XML_Char** attrs) override {
    if (element != "sheet") return;
    if (sheets.size() >= kMaxSheets) return Fail("more than " + std::to_string(kMaxSheets) + " sheets");
    const auto name = Attr(attrs, "name");
    if (!name) return Fail("a sheet without a name");
    sheets.push_back({std::string(*name), std::string(Attr(attrs, "id").value_or(""))});
  }
  void End(std::string_view) override {}
};

// xl/_rels/workbook.xml.rels: where each sheet's part is.
class RelsPart : public XmlHandler {
 public:
  std::map<std::string, std::string> targets;
  void Start(std::string_view element, const XML_Char** attrs) override {
    if (element != "Relationship") return;
    if (targets.size() >= kMaxEntries) return Fail("too many relationships");
    const auto id = Attr(attrs, "Id");
    const auto target = Attr(attrs, "Target");
    if (id && target) targets[std::string(*id)] = std::string(*target);
  }
  void End(std::string_view) override {}
};

// Collects the text of <t> elements, leaving out phonetic runs (<rPh>), which are not cell text.
class TextCollector {
 public:
  void Start(std::string_view element, XmlHandler& h) {
    if (element == "rPh") ++phonetic_;
    if (element == "t" && !phonetic_) in_t_ = true;
    (void)h;
  }
  void End(std::string_view element) {
    if (element == "rPh" && phonetic_) --phonetic_;
    if (element == "t") in_t_ = false;
  }
  void Text(std::string_view s, XmlHandler& h) {
    if (!in_t_) return;
    if (text_.size() + s.size() > kMaxTextBytes) return h.Fail("a text longer than 32,767 characters");
    text_ += s;
  }
  std::string Take() {
    std::string t = DecodeEscapes(text_);
    text_.clear();
    return t;
  }

 private:
  int phonetic_ = 0;
  bool in_t_ = false;
  std::string text_;
};

// xl/sharedStrings.xml: the table that t="s" cells index.
class SharedStringsPart : public XmlHandler {
 public:
  std::vector<std::string> strings;
  void Start(std::string_view element, const XML_Char**) override {
    if (element == "si") {
      if (strings.size() >= kMaxSharedStrings) return Fail("more than " + std::to_string(kMaxSharedStrings) + " strings");
      in_si_ = true;
    }
    if (in_si_) text_.Start(element, *this);
  }
  void End(std::string_view element) override {
    if (!in_si_) return;
    text_.End(element);
    if (element == "si") {
      strings.push_back(text_.Take());
      in_si_ = false;
    }
  }
  void Text(std::string_view s) override {
    if (in_si_) text_.Text(s, *this);
  }

 private:
  bool in_si_ = false;
  TextCollector text_;
};

// "C12" -> column 2 (0-based), row 12; nullopt when it is not a cell reference within Excel's grid.
std::optional<std::pair<std::size_t, std::size_t>> ParseRef(std::string_view ref) {
  std::size_t col = 0, i = 0;
  while (i < ref.size() && std::isupper(static_cast<unsigned char>(ref[i])) && i < 3) {
    col = col * 26 + static_cast<std::size_t>(ref[i] - 'A' + 1);
    ++i;
  }
  std::size_t row = 0;
  if (i == 0 || i == ref.size() || std::from_chars(ref.data() + i, ref.data() + ref.size(), row).ptr != ref.data() + ref.size()) {
    return std::nullopt;
  }
  if (col > kMaxColumns || row == 0 || row > kMaxRows) return std::nullopt;
  return std::make_pair(col - 1, row);
}

// xl/worksheets/sheetN.xml: the cells, kept sparse until the header's width is known.
class SheetPart : public XmlHandler {
 public:
  SheetPart(std::string sheet, const std::vector<std::string>& shared, std::size_t& cells)
      : sheet_(std::move(sheet)), shared_(shared), cells_(cells) {}
  // Non-empty cells by row (1-based), then column (0-based), in document order.
  std::vector<std::pair<std::size_t, std::vector<std::pair<std::size_t, Cell>>>> rows;

  void Start(std::string_view element, const XML_Char** attrs) override {
    if (element == "sheetData") in_data_ = true;
    if (!in_data_) return;
    if (element == "row") {
      std::size_t r = row_ + 1;
      if (const auto given = Attr(attrs, "r")) {
        if (std::from_chars(given->data(), given->data() + given->size(), r).ptr != given->data() + given->size() ||
            r == 0 || r > kMaxRows) {
          return Fail("row number " + Quoted(*given) + " is not one Excel has");
        }
      }
      if (r <= row_) return Fail("row " + std::to_string(r) + " comes after row " + std::to_string(row_) + " (damaged)");
      row_ = r;
      col_ = kNoColumn;
    } else if (element == "c") {
      std::size_t c = col_ == kNoColumn ? 0 : col_ + 1;
      if (const auto ref = Attr(attrs, "r")) {
        const auto parsed = ParseRef(*ref);
        if (!parsed || parsed->second != row_) return Fail("cell reference " + Quoted(*ref) + " is not in row " + std::to_string(row_));
        c = parsed->first;
      }
      if (col_ != kNoColumn && c <= col_) return Fail("cell " + CellRef(row_, c) + " is out of order (damaged)");
      if (c >= kMaxColumns) return Fail("a cell beyond column XFD");
      col_ = c;
      type_ = std::string(Attr(attrs, "t").value_or("n"));
      value_.clear();
      in_cell_ = true;
    } else if (in_cell_ && element == "v") {
      in_v_ = true;
    } else if (in_cell_ && element == "is") {
      in_is_ = true;
    }
    if (in_is_) text_.Start(element, *this);
  }

  void End(std::string_view element) override {
    if (element == "sheetData") in_data_ = false;
    if (in_is_) text_.End(element);
    if (element == "v") in_v_ = false;
    if (element == "is") in_is_ = false;
    if (element == "c" && in_cell_) {
      in_cell_ = false;
      Finish();
    }
  }

  void Text(std::string_view s) override {
    if (in_is_) text_.Text(s, *this);
    if (in_v_) {
      if (value_.size() + s.size() > kMaxTextBytes) return Fail("cell " + CellRef(row_, col_) + ": a value longer than 32,767 characters");
      value_ += s;
    }
  }

 private:
  static constexpr std::size_t kNoColumn = static_cast<std::size_t>(-1);

  void Finish() {
    const std::string at = "cell " + CellRef(row_, col_) + ": ";
    Cell cell;
    if (type_ == "s") {
      std::size_t index = 0;
      if (std::from_chars(value_.data(), value_.data() + value_.size(), index).ptr != value_.data() + value_.size() ||
          index >= shared_.size()) {
        return Fail(at + "refers to shared string " + Quoted(value_) + ", which the workbook does not have (damaged)");
      }
      cell = shared_[index];
    } else if (type_ == "inlineStr") {
      cell = text_.Take();
    } else if (type_ == "str" || type_ == "d") {
      cell = DecodeEscapes(value_);
    } else if (type_ == "b") {
      cell = std::string(value_ == "1" ? "TRUE" : "FALSE");
    } else if (type_ == "e") {
      return Fail(at + "holds the error " + value_ + " (correct the formula or type the value)");
    } else if (type_ == "n") {
      if (!value_.empty()) {
        double d = 0;
        const auto [end, ec] = std::from_chars(value_.data(), value_.data() + value_.size(), d);
        if (ec != std::errc() || end != value_.data() + value_.size() || !std::isfinite(d)) {
          return Fail(at + Quoted(value_) + " is not a number (damaged)");
        }
        cell = d;
      }
    } else {
      return Fail(at + "unknown cell type " + Quoted(type_));
    }
    if (std::holds_alternative<std::monostate>(cell)) return;
    if (++cells_ > kMaxCells) return Fail("more than " + std::to_string(kMaxCells) + " cells in the workbook");
    if (rows.empty() || rows.back().first != row_) rows.emplace_back(row_, std::vector<std::pair<std::size_t, Cell>>{});
    rows.back().second.emplace_back(col_, std::move(cell));
  }

  std::string sheet_;
  const std::vector<std::string>& shared_;
  std::size_t& cells_;
  bool in_data_ = false, in_cell_ = false, in_v_ = false, in_is_ = false;
  std::size_t row_ = 0, col_ = kNoColumn;
  std::string type_, value_;
  TextCollector text_;
};

// Where a relationship target points, as a zip entry name ("worksheets/sheet1.xml" -> "xl/...").
std::string PartName(std::string_view target) {
  if (!target.empty() && target.front() == '/') return std::string(target.substr(1));
  std::string base = "xl/";
  while (target.substr(0, 3) == "../") {
    target.remove_prefix(3);
    base.clear();
  }
  return base + std::string(target);
}

// Turns the sparse cells into the header and rows of width the header's, so rows[i] is row i + 2.
Result<Sheet> Densify(const std::string& name, SheetPart& part, std::size_t& cells) {
  Sheet sheet;
  sheet.name = name;
  const std::string at = "sheet " + Quoted(name) + ": ";
  std::size_t first = 0;
  if (!part.rows.empty() && part.rows.front().first == 1) {
    auto& header = part.rows.front().second;
    const std::size_t width = header.back().first + 1;
    sheet.header.resize(width);
    for (auto& [c, cell] : header) sheet.header[c] = CellText(cell);
    first = 1;
  }
  if (first == part.rows.size()) return sheet;
  const std::size_t width = sheet.header.size();
  if (width == 0) {
    return Status::InvalidArgument(at + "row 1 (the header naming the columns) is empty, but row " +
                                   std::to_string(part.rows[first].first) + " is not");
  }
  const std::size_t last = part.rows.back().first;
  cells += (last - 1) * width;
  if (cells > kMaxCells) return Status::InvalidArgument(at + "more than " + std::to_string(kMaxCells) + " cells");
  sheet.rows.assign(last - 1, std::vector<Cell>(width));
  for (std::size_t i = first; i < part.rows.size(); ++i) {
    auto& [r, row] = part.rows[i];
    for (auto& [c, cell] : row) {
      if (c >= width) {
        return Status::InvalidArgument(at + "cell " + CellRef(r, c) + ": a value in a column the header (row 1) does not name");
      }
      sheet.rows[r - 2][c] = std::move(cell);
    }
  }
  return sheet;
}

}  // namespace

std::string CellRef(std::size_t row, std::size_t column) {
  std::string letters;
  for (std::size_t c = column + 1; c > 0; c = (c - 1) / 26) letters.insert(letters.begin(), static_cast<char>('A' + (c - 1) % 26));
  return letters + std::to_string(row);
}

std::string CellText(const Cell& cell) {
  if (const auto* text = std::get_if<std::string>(&cell)) return *text;
  if (const auto* number = std::get_if<double>(&cell)) {
    // Whole numbers as typed (2022, not 2022.0); others in the shortest form that reads back exactly.
    if (std::abs(*number) < 1e15 && std::trunc(*number) == *number) {
      return std::to_string(static_cast<long long>(*number));
    }
    char buf[32];
    const auto end = std::to_chars(buf, buf + sizeof buf, *number).ptr;
    return std::string(buf, end);
  }
  return std::string();
}

Status WriteWorkbook(const std::string& path, const std::vector<Sheet>& sheets) {
  MNR_RETURN_IF_ERROR(CheckSheets(sheets).With(path));
  // libxlsxwriter writes to a file name: it writes a private temporary file, whose bytes then go
  // through WriteFileAtomic like every other output.
  std::string tmp = path + ".partial-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return Status::IOError(path + ": cannot create a temporary file beside it: " + std::strerror(errno));
  ::close(fd);
  struct Remove {
    std::string path;
    ~Remove() { ::unlink(path.c_str()); }
  } remove{tmp};

  lxw_workbook_options options{};
  lxw_workbook* wb = workbook_new_opt(tmp.c_str(), &options);
  if (!wb) return Status::IOError(path + ": libxlsxwriter could not start a workbook");
  lxw_format* bold = workbook_add_format(wb);
  format_set_bold(bold);
  Status filled;
  for (const Sheet& s : sheets) {
    filled = FillSheet(wb, bold, s);
    if (!filled.ok()) break;
  }
  // Closing also frees the workbook, so it happens even after a failure (the file is then discarded).
  const lxw_error closed = workbook_close(wb);
  if (!filled.ok()) return filled.With(path);
  if (closed != LXW_NO_ERROR) return Status::IOError(path + ": " + LxwError(closed));
  auto bytes = ReadFile(tmp, static_cast<std::size_t>(1) << 31);
  if (!bytes.ok()) return bytes.status();
  return WriteFileAtomic(path, *bytes);
}

Result<std::vector<Sheet>> ReadWorkbook(const std::string& path) {
  auto opened = Zip::Open(path);
  if (!opened.ok()) return opened.status();
  Zip& zip = *opened;
  if (!zip.Has("xl/workbook.xml")) return Status::InvalidArgument(path + ": not an xlsx workbook (no xl/workbook.xml)");
  WorkbookPart workbook;
  MNR_RETURN_IF_ERROR(ParsePart(zip, "xl/workbook.xml", workbook));
  RelsPart rels;
  if (zip.Has("xl/_rels/workbook.xml.rels")) MNR_RETURN_IF_ERROR(ParsePart(zip, "xl/_rels/workbook.xml.rels", rels));
  SharedStringsPart shared;
  if (zip.Has("xl/sharedStrings.xml")) MNR_RETURN_IF_ERROR(ParsePart(zip, "xl/sharedStrings.xml", shared));

  std::vector<Sheet> sheets;
  std::size_t cells = 0;
  for (std::size_t i = 0; i < workbook.sheets.size(); ++i) {
    const auto& entry = workbook.sheets[i];
    const auto target = rels.targets.find(entry.rel);
    const std::string part = target != rels.targets.end() ? PartName(target->second)
                                                          : "xl/worksheets/sheet" + std::to_string(i + 1) + ".xml";
    if (!zip.Has(part)) {
      // A chart sheet or a macro sheet has no cells to read.
      if (target != rels.targets.end() && target->second.find("worksheets/") == std::string::npos) continue;
      return Status::InvalidArgument(path + ": sheet " + Quoted(entry.name) + ": its part " + part + " is missing");
    }
    SheetPart cellsPart(entry.name, shared.strings, cells);
    Status s = ParsePart(zip, part, cellsPart);
    if (!s.ok()) {
      // Name the sheet as the user sees it, not only the zip entry.
      const std::string prefix = path + ": entry " + part + ": ";
      const std::string& m = s.message();
      return Status::InvalidArgument(path + ": sheet " + Quoted(entry.name) + ": " +
                                     (m.rfind(prefix, 0) == 0 ? m.substr(prefix.size()) : m));
    }
    auto sheet = Densify(entry.name, cellsPart, cells);
    if (!sheet.ok()) return sheet.status().With(path);
    sheets.push_back(std::move(*sheet));
  }
  if (sheets.empty()) return Status::InvalidArgument(path + ": the workbook has no worksheet");
  return sheets;
}

}  // namespace mnr::xlsx
