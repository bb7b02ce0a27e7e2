#include "mnr/media_type.h"

#include <minizip/unzip.h>

#include <algorithm>
#include <string>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "mnr/utf8.h"

// Helpers live in their own namespace: unity builds put this file beside xlsx.cc and others.
namespace mnr::media_sniff {
namespace {

enum class Kind { kPdf, kPng, kJpeg, kGif, kWebp, kDocx, kXlsx, kPptx, kOdt, kOds, kOdp, kDoc, kXls, kPpt, kText };

struct KindInfo {
  Kind kind;
  const char* mime;
  const char* extension;
  const char* label;
};

constexpr KindInfo kKinds[] = {
    {Kind::kPdf, "application/pdf", "pdf", "PDF document"},
    {Kind::kPng, "image/png", "png", "PNG image"},
    {Kind::kJpeg, "image/jpeg", "jpg", "JPEG image"},
    {Kind::kGif, "image/gif", "gif", "GIF image"},
    {Kind::kWebp, "image/webp", "webp", "WebP image"},
    {Kind::kDocx, "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx", "Word document"},
    {Kind::kXlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx", "Excel workbook"},
    {Kind::kPptx, "application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx",
     "PowerPoint presentation"},
    {Kind::kOdt, "application/vnd.oasis.opendocument.text", "odt", "OpenDocument text"},
    {Kind::kOds, "application/vnd.oasis.opendocument.spreadsheet", "ods", "OpenDocument spreadsheet"},
    {Kind::kOdp, "application/vnd.oasis.opendocument.presentation", "odp", "OpenDocument presentation"},
    {Kind::kDoc, "application/msword", "doc", "Word 97-2003 document"},
    {Kind::kXls, "application/vnd.ms-excel", "xls", "Excel 97-2003 workbook"},
    {Kind::kPpt, "application/vnd.ms-powerpoint", "ppt", "PowerPoint 97-2003 presentation"},
    {Kind::kText, "text/plain", "txt", "plain text"},
};

const KindInfo& Info(Kind k) {
  for (const KindInfo& i : kKinds) {
    if (i.kind == k) return i;
  }
  return kKinds[0];  // unreachable: every Kind is in the table
}

// The extensions people give these kinds: the table's, and a few aliases.
std::optional<Kind> KindOfExtension(std::string_view ext) {
  if (ext == "jpeg") return Kind::kJpeg;
  if (ext == "csv" || ext == "md" || ext == "text") return Kind::kText;
  for (const KindInfo& i : kKinds) {
    if (ext == i.extension) return i.kind;
  }
  return std::nullopt;
}

constexpr const char* kAcceptedList = "PDF, PNG, JPEG, GIF, WebP, Word, Excel, PowerPoint, OpenDocument, plain text";

// The two shapes of refusal; the caller puts the file name in front.
Status LooksLike(std::string_view what) {
  return Status::InvalidArgument("not an accepted evidence file: looks like " + std::string(what) + "; accepted: " +
                                 kAcceptedList);
}
Status Refused(std::string_view why) { return Status::InvalidArgument("refused: " + std::string(why)); }

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

bool StartsWithNoCase(std::string_view s, std::string_view lower_prefix) {
  if (s.size() < lower_prefix.size()) return false;
  for (std::size_t i = 0; i < lower_prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower_prefix[i]) return false;
  }
  return true;
}

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// "an Excel workbook", "a PNG image".
std::string WithArticle(std::string_view label) {
  const bool vowel = !label.empty() && std::strchr("AEIOU", label[0]) != nullptr;
  std::string out = vowel ? "an " : "a ";
  out += label;
  return out;
}

std::string WithThousands(std::uint64_t n) {
  const std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// The name as it may appear in a message: the sender chose it, so no control characters, at most 200
// bytes, and only UTF-8.
std::string PrintableName(std::string_view name) {
  const bool utf8 = IsValidUtf8(name);
  std::string out;
  for (unsigned char c : name) {
    out += (c < 0x20 || c == 0x7F || (!utf8 && c >= 0x80)) ? '?' : static_cast<char>(c);
  }
  if (out.size() > 200) {
    std::size_t cut = 200;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out = out.substr(0, cut) + "...";
  }
  return out;
}

// "report.PDF" -> "pdf"; empty when the name has none (".profile" has none either).
std::string ExtensionOf(std::string_view file_name) {
  const std::size_t slash = file_name.find_last_of("/\\");
  if (slash != std::string_view::npos) file_name.remove_prefix(slash + 1);
  const std::size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == file_name.size()) return {};
  return LowerAscii(file_name.substr(dot + 1));
}

std::uint32_t Le16(std::string_view b, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) |
         static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8;
}
std::uint32_t Le32(std::string_view b, std::size_t at) { return Le16(b, at) | Le16(b, at + 2) << 16; }

// ---------------------------------------------------------------------------------------------------
// Zip containers (OOXML, OpenDocument), read from memory with minizip

constexpr std::uint64_t kZipMaxDeclaredBytes = 256ull << 20;  // all entries together, as declared
constexpr std::uint64_t kZipMaxRatio = 200;                   // declared inflated / compressed, per entry
constexpr std::uint64_t kZipRatioSlack = 1u << 20;            // small entries may compress better (as xlsx.cc)
constexpr std::uint64_t kZipMaxEntries = 10000;
constexpr std::size_t kZipMaxPartBytes = 1u << 20;            // an entry we inflate to tell the type
constexpr std::size_t kZipChunkBytes = 64 * 1024;

struct MemoryFile {
  std::string_view bytes;
  std::uint64_t pos = 0;
};

voidpf ZCALLBACK MemoryOpen(voidpf opaque, const void* /*name*/, int mode) {
  return (mode & ZLIB_FILEFUNC_MODE_WRITE) ? nullptr : opaque;
}
uLong ZCALLBACK MemoryRead(voidpf /*opaque*/, voidpf stream, void* buf, uLong size) {
  auto* f = static_cast<MemoryFile*>(stream);
  const std::uint64_t n = std::min<std::uint64_t>(size, f->bytes.size() - f->pos);
  std::memcpy(buf, f->bytes.data() + f->pos, static_cast<std::size_t>(n));
  f->pos += n;
  return static_cast<uLong>(n);
}
uLong ZCALLBACK MemoryWrite(voidpf, voidpf, const void*, uLong) { return 0; }
ZPOS64_T ZCALLBACK MemoryTell(voidpf /*opaque*/, voidpf stream) { return static_cast<MemoryFile*>(stream)->pos; }
long ZCALLBACK MemorySeek(voidpf /*opaque*/, voidpf stream, ZPOS64_T offset, int origin) {
  auto* f = static_cast<MemoryFile*>(stream);
  std::uint64_t base = 0;
  if (origin == ZLIB_FILEFUNC_SEEK_CUR) base = f->pos;
  if (origin == ZLIB_FILEFUNC_SEEK_END) base = f->bytes.size();
  if (offset > f->bytes.size() || base > f->bytes.size() - offset) return -1;
  f->pos = base + offset;
  return 0;
}
int ZCALLBACK MemoryClose(voidpf, voidpf) { return 0; }
int ZCALLBACK MemoryError(voidpf, voidpf) { return 0; }

struct UnzCloser {
  void operator()(void* f) const { unzClose(f); }
};

// What the central directory says, gathered in one bounded walk.
struct ZipDirectory {
  std::vector<std::string> names;  // in directory order
  bool Has(std::string_view name) const { return std::find(names.begin(), names.end(), name) != names.end(); }
};

Result<ZipDirectory> WalkZipDirectory(unzFile zip) {
  unz_global_info64 global{};
  if (unzGetGlobalInfo64(zip, &global) != UNZ_OK) return Refused("damaged zip archive (unreadable directory)");
  if (global.number_entry > kZipMaxEntries) {
    return Refused("a zip archive of " + WithThousands(global.number_entry) + " entries (at most " +
                   WithThousands(kZipMaxEntries) + ")");
  }
  ZipDirectory dir;
  std::uint64_t declared = 0;
  int step = unzGoToFirstFile(zip);
  while (step == UNZ_OK) {
    if (dir.names.size() >= kZipMaxEntries) return Refused("a zip archive of more than 10,000 entries");
    unz_file_info64 info{};
    char name_buf[512];
    if (unzGetCurrentFileInfo64(zip, &info, name_buf, sizeof name_buf, nullptr, 0, nullptr, 0) != UNZ_OK) {
      return Refused("damaged zip archive (unreadable directory entry)");
    }
    const std::string name(name_buf, std::min<std::size_t>(info.size_filename, sizeof name_buf));
    const std::string shown = "zip entry " + PrintableName(name);
    if (info.flag & 0x41) return Refused(shown + " is encrypted (save the document without a password)");
    if (info.compression_method != 0 && info.compression_method != Z_DEFLATED) {
      return Refused(shown + " uses compression method " + std::to_string(info.compression_method) +
                     " (office documents use only stored and deflated entries)");
    }
    if (info.compression_method == 0 && info.compressed_size != info.uncompressed_size) {
      return Refused("damaged zip archive (" + shown + " is stored but its two sizes differ)");
    }
    // Sizes come from the sender (64-bit with zip64): no product or sum below may wrap around.
    const bool ratio_fits = info.compressed_size <= (UINT64_MAX - kZipRatioSlack) / kZipMaxRatio;
    if (ratio_fits && info.uncompressed_size > info.compressed_size * kZipMaxRatio + kZipRatioSlack) {
      return Refused("a zip bomb: " + shown + " declares " + WithThousands(info.uncompressed_size) +
                     " bytes inflated from " + WithThousands(info.compressed_size) + " (more than " +
                     std::to_string(kZipMaxRatio) + " times)");
    }
    if (info.uncompressed_size > kZipMaxDeclaredBytes - declared) {
      return Refused("a zip bomb: its entries declare more than " + std::to_string(kZipMaxDeclaredBytes >> 20) +
                     " MiB inflated in all");
    }
    declared += info.uncompressed_size;
    dir.names.push_back(name);
    step = unzGoToNextFile(zip);
  }
  if (step != UNZ_END_OF_LIST_OF_FILE) return Refused("damaged zip archive (unreadable directory)");
  return dir;
}

// Inflates entry `name` (at most kZipMaxPartBytes) and checks that it is exactly what the directory
// declared, checksum included: the type is decided on bytes really there.
Result<std::string> InflateZipEntry(unzFile zip, const std::string& name) {
  const std::string shown = "zip entry " + name;
  if (unzLocateFile(zip, name.c_str(), 1) != UNZ_OK) return Refused("damaged zip archive (" + shown + " vanished)");
  unz_file_info64 info{};
  if (unzGetCurrentFileInfo64(zip, &info, nullptr, 0, nullptr, 0, nullptr, 0) != UNZ_OK) {
    return Refused("damaged zip archive (" + shown + ")");
  }
  if (info.uncompressed_size > kZipMaxPartBytes) {
    return Refused(shown + " declares " + WithThousands(info.uncompressed_size) + " bytes (at most " +
                   WithThousands(kZipMaxPartBytes) + ")");
  }
  if (unzOpenCurrentFile(zip) != UNZ_OK) return Refused("damaged zip archive (" + shown + " cannot be opened)");
  std::string out;
  std::string chunk(kZipChunkBytes, '\0');
  Status status;
  for (;;) {
    const int n = unzReadCurrentFile(zip, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n < 0) {
      status = Refused("damaged zip archive (" + shown + ": damaged compressed data)");
      break;
    }
    if (n == 0) break;
    out.append(chunk.data(), static_cast<std::size_t>(n));
    if (out.size() > kZipMaxPartBytes) {
      status = Refused(shown + " inflates past " + WithThousands(kZipMaxPartBytes) + " bytes");
      break;
    }
  }
  const int closed = unzCloseCurrentFile(zip);
  if (!status.ok()) return status;
  if (closed == UNZ_CRCERROR) return Refused("damaged zip archive (" + shown + ": checksum mismatch)");
  if (closed != UNZ_OK || out.size() != info.uncompressed_size) {
    return Refused("damaged zip archive (" + shown + " does not inflate to the size its directory declares)");
  }
  return out;
}

struct OfficeMainPart {
  Kind kind;
  const char* part;          // the main part's zip entry
  const char* content_type;  // what [Content_Types].xml must declare for it
};
constexpr OfficeMainPart kOfficeMainParts[] = {
    {Kind::kDocx, "word/document.xml",
     "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"},
    {Kind::kXlsx, "xl/workbook.xml", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"},
    {Kind::kPptx, "ppt/presentation.xml",
     "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"},
};

// What a zip that is not the expected office document is, in words.
std::string ZipWithout(std::optional<Kind> expected) {
  if (expected) {
    for (const OfficeMainPart& p : kOfficeMainParts) {
      if (p.kind == *expected) return std::string("a zip archive without ") + p.part;
    }
    if (*expected == Kind::kOdt || *expected == Kind::kOds || *expected == Kind::kOdp) {
      return "a zip archive without an OpenDocument mimetype entry";
    }
  }
  return "a zip archive (not a Word, Excel, PowerPoint or OpenDocument file)";
}

Result<Kind> SniffOpenDocument(unzFile zip, const ZipDirectory& dir) {
  auto mimetype = InflateZipEntry(zip, "mimetype");
  if (!mimetype.ok()) return mimetype.status();
  Kind kind;
  if (*mimetype == Info(Kind::kOdt).mime) {
    kind = Kind::kOdt;
  } else if (*mimetype == Info(Kind::kOds).mime) {
    kind = Kind::kOds;
  } else if (*mimetype == Info(Kind::kOdp).mime) {
    kind = Kind::kOdp;
  } else {
    return LooksLike("an OpenDocument file of type \"" + PrintableName(mimetype->substr(0, 100)) +
                     "\" (only text, spreadsheet and presentation are accepted)");
  }
  if (!dir.Has("content.xml")) return Refused("damaged OpenDocument file (no content.xml)");
  // A password-protected OpenDocument file keeps its zip entries plain and says so in the manifest.
  if (dir.Has("META-INF/manifest.xml")) {
    auto manifest = InflateZipEntry(zip, "META-INF/manifest.xml");
    if (!manifest.ok()) return manifest.status();
    if (manifest->find("encryption-data") != std::string::npos) {
      return Refused("a password-protected OpenDocument file (save it without a password)");
    }
  }
  return kind;
}

Result<Kind> SniffOfficeOpenXml(unzFile zip, const ZipDirectory& dir, std::optional<Kind> expected) {
  auto types = InflateZipEntry(zip, "[Content_Types].xml");
  if (!types.ok()) return types.status();
  const bool has_vba = std::any_of(dir.names.begin(), dir.names.end(), [](const std::string& n) {
    return LowerAscii(n).find("vbaproject.bin") != std::string::npos;
  });
  if (has_vba || types->find("macroEnabled") != std::string::npos) {
    return Refused("an Office document with macros (save it as .docx, .xlsx or .pptx without macros, or as PDF)");
  }
  std::optional<Kind> found;
  for (const OfficeMainPart& p : kOfficeMainParts) {
    if (!dir.Has(p.part)) continue;
    if (types->find(p.content_type) == std::string::npos) {
      return LooksLike(std::string("a zip archive whose [Content_Types].xml does not declare its ") + p.part);
    }
    if (found) return Refused("damaged Office document (it has more than one main part)");
    found = p.kind;
  }
  if (!found) return LooksLike(ZipWithout(expected));
  return *found;
}

Result<Kind> SniffZip(std::string_view bytes, std::optional<Kind> expected) {
  MemoryFile file{bytes};
  zlib_filefunc64_def io{};
  io.zopen64_file = MemoryOpen;
  io.zread_file = MemoryRead;
  io.zwrite_file = MemoryWrite;
  io.ztell64_file = MemoryTell;
  io.zseek64_file = MemorySeek;
  io.zclose_file = MemoryClose;
  io.zerror_file = MemoryError;
  io.opaque = &file;
  std::unique_ptr<void, UnzCloser> zip(unzOpen2_64("memory", &io));
  if (!zip) return Refused("damaged zip archive (no readable central directory)");
  auto dir = WalkZipDirectory(zip.get());
  if (!dir.ok()) return dir.status();
  if (dir->Has("mimetype")) return SniffOpenDocument(zip.get(), *dir);
  if (dir->Has("[Content_Types].xml")) return SniffOfficeOpenXml(zip.get(), *dir, expected);
  return LooksLike(ZipWithout(expected));
}

// ---------------------------------------------------------------------------------------------------
// OLE2 compound files (Word, Excel, PowerPoint 97-2003): the streams at the root name the kind.

constexpr std::uint32_t kCfbEndOfChain = 0xFFFFFFFE;
constexpr std::uint32_t kCfbNoStream = 0xFFFFFFFF;
constexpr std::size_t kCfbHeaderDifat = 109;
constexpr std::size_t kCfbEntryBytes = 128;

class CompoundFile {
 public:
  explicit CompoundFile(std::string_view bytes) : bytes_(bytes) {}

  // Returns the names of the root storage's children, upper-cased ("WORDDOCUMENT"), with a '/' after
  // a storage's name.
  Result<std::vector<std::string>> RootNames() {
    if (bytes_.size() < 512) return Damaged("shorter than its header");
    const std::uint32_t major = Le16(bytes_, 0x1A);
    shift_ = Le16(bytes_, 0x1E);
    if (Le16(bytes_, 0x1C) != 0xFFFE || !((major == 3 && shift_ == 9) || (major == 4 && shift_ == 12))) {
      return Damaged("unknown header");
    }
    sector_bytes_ = std::size_t{1} << shift_;
    max_sectors_ = bytes_.size() >> shift_;
    MNR_RETURN_IF_ERROR(ReadFatSectors());
    MNR_RETURN_IF_ERROR(ReadDirectoryChain());
    const std::size_t entries = directory_.size() * (sector_bytes_ / kCfbEntryBytes);
    if (entries == 0) return Damaged("no directory");
    std::string_view root = Entry(0);
    if (root.empty() || static_cast<unsigned char>(root[0x42]) != 5) return Damaged("no root storage");
    std::vector<std::string> names;
    std::vector<bool> seen(entries, false);
    std::vector<std::uint32_t> todo = {Le32(root, 0x4C)};
    while (!todo.empty()) {
      const std::uint32_t id = todo.back();
      todo.pop_back();
      if (id == kCfbNoStream) continue;
      if (id >= entries || seen[id]) return Damaged("a looping directory");
      seen[id] = true;
      std::string_view e = Entry(id);
      if (e.empty()) return Damaged("a directory entry outside the file");
      const unsigned type = static_cast<unsigned char>(e[0x42]);
      const std::uint32_t name_bytes = std::min<std::uint32_t>(Le16(e, 0x40), 64);
      std::string name;
      for (std::uint32_t i = 0; i + 1 < name_bytes; i += 2) {
        const std::uint32_t unit = Le16(e, i);
        if (unit == 0) break;
        name += unit < 0x80 ? static_cast<char>(unit >= 'a' && unit <= 'z' ? unit - 'a' + 'A' : unit) : '?';
      }
      if (type == 1) name += '/';
      if (type == 1 || type == 2) names.push_back(name);
      todo.push_back(Le32(e, 0x44));
      todo.push_back(Le32(e, 0x48));
    }
    return names;
  }

 private:
  static Status Damaged(std::string_view what) {
    return Refused("damaged OLE2 compound file (" + std::string(what) + ")");
  }

  // The sector's bytes, or empty when it lies outside the file.
  std::string_view Sector(std::uint32_t s) const {
    const std::uint64_t at = (static_cast<std::uint64_t>(s) + 1) << shift_;
    if (s >= max_sectors_ || at + sector_bytes_ > bytes_.size()) return {};
    return bytes_.substr(static_cast<std::size_t>(at), sector_bytes_);
  }

  Status ReadFatSectors() {
    const std::uint32_t count = Le32(bytes_, 0x2C);
    if (count > max_sectors_) return Damaged("more allocation sectors than the file holds");
    for (std::size_t i = 0; i < kCfbHeaderDifat && fat_.size() < count; ++i) fat_.push_back(Le32(bytes_, 0x4C + 4 * i));
    std::uint32_t next = Le32(bytes_, 0x44);
    const std::size_t per = sector_bytes_ / 4 - 1;
    for (std::size_t steps = 0; fat_.size() < count; ++steps) {
      std::string_view sector = Sector(next);
      if (sector.empty() || steps > max_sectors_) return Damaged("a broken allocation table");
      for (std::size_t i = 0; i < per && fat_.size() < count; ++i) fat_.push_back(Le32(sector, 4 * i));
      next = Le32(sector, 4 * per);
    }
    return Status::OK();
  }

  Status ReadDirectoryChain() {
    std::uint32_t s = Le32(bytes_, 0x30);
    const std::size_t per = sector_bytes_ / 4;
    while (s != kCfbEndOfChain) {
      if (directory_.size() >= max_sectors_ || Sector(s).empty()) return Damaged("a broken directory chain");
      directory_.push_back(s);
      const std::size_t fat_index = s / per;
      if (fat_index >= fat_.size()) return Damaged("a broken directory chain");
      std::string_view fat_sector = Sector(fat_[fat_index]);
      if (fat_sector.empty()) return Damaged("a broken allocation table");
      s = Le32(fat_sector, 4 * (s % per));
    }
    return Status::OK();
  }

  std::string_view Entry(std::uint32_t id) const {
    const std::size_t per = sector_bytes_ / kCfbEntryBytes;
    std::string_view sector = Sector(directory_[id / per]);
    if (sector.empty()) return {};
    return sector.substr((id % per) * kCfbEntryBytes, kCfbEntryBytes);
  }

  std::string_view bytes_;
  std::uint32_t shift_ = 9;
  std::size_t sector_bytes_ = 512;
  std::size_t max_sectors_ = 0;
  std::vector<std::uint32_t> fat_;        // the sectors holding the allocation table, in order
  std::vector<std::uint32_t> directory_;  // the directory's sectors, in order
};

Result<Kind> SniffCompoundFile(std::string_view bytes) {
  CompoundFile file(bytes);
  auto names = file.RootNames();
  if (!names.ok()) return names.status();
  const auto has = [&](std::string_view n) { return std::find(names->begin(), names->end(), n) != names->end(); };
  if (has("ENCRYPTEDPACKAGE")) return Refused("a password-protected Office document (save it without a password)");
  if (has("MACROS/") || has("_VBA_PROJECT_CUR/")) {
    return Refused("an Office document with macros (save it without macros, or as PDF)");
  }
  std::vector<Kind> kinds;
  if (has("WORDDOCUMENT")) kinds.push_back(Kind::kDoc);
  if (has("WORKBOOK") || has("BOOK")) kinds.push_back(Kind::kXls);
  if (has("POWERPOINT DOCUMENT")) kinds.push_back(Kind::kPpt);
  if (kinds.size() > 1) return Refused("damaged OLE2 compound file (it holds more than one kind of document)");
  if (kinds.empty()) {
    return LooksLike("an OLE2 compound file that is not a Word, Excel or PowerPoint document (an Outlook message "
                     "or a Windows installer, for example)");
  }
  return kinds.front();
}

// ---------------------------------------------------------------------------------------------------
// Everything else: text, or named for the refusal

struct BinarySignature {
  std::size_t offset;
  std::string_view magic;
  const char* what;
};
using namespace std::string_view_literals;
const BinarySignature kBinarySignatures[] = {
    {0, "\x7f" "ELF"sv, "a Linux program (ELF executable)"},
    {0, "MZ"sv, "a Windows executable"},
    {0, "\xfe\xed\xfa\xce"sv, "a macOS program"},
    {0, "\xfe\xed\xfa\xcf"sv, "a macOS program"},
    {0, "\xce\xfa\xed\xfe"sv, "a macOS program"},
    {0, "\xcf\xfa\xed\xfe"sv, "a macOS program"},
    {0, "\xca\xfe\xba\xbe"sv, "a macOS program or Java class"},
    {0, "\xff\xfe"sv, "UTF-16 text (save it as UTF-8)"},
    {0, "\xfe\xff"sv, "UTF-16 text (save it as UTF-8)"},
    {0, "PK\x05\x06"sv, "an empty zip archive"},
    {0, "\x1f\x8b"sv, "a gzip archive"},
    {0, "BZh"sv, "a bzip2 archive"},
    {0, "\xfd" "7zXZ\0"sv, "an xz archive"},
    {0, "7z\xbc\xaf\x27\x1c"sv, "a 7-Zip archive"},
    {0, "Rar!\x1a\x07"sv, "a RAR archive"},
    {0, "\x28\xb5\x2f\xfd"sv, "a zstd archive"},
    {0, "MSCF"sv, "a Windows cabinet archive"},
    {257, "ustar"sv, "a tar archive"},
    {0, "SQLite format 3\0"sv, "an SQLite database"},
    {0, "II*\0"sv, "a TIFF image (save it as PNG or PDF)"},
    {0, "MM\0*"sv, "a TIFF image (save it as PNG or PDF)"},
    {0, "BM"sv, "a BMP image (save it as PNG)"},
    {4, "ftypheic"sv, "an HEIC photo (save it as JPEG)"},
    {4, "ftypheix"sv, "an HEIC photo (save it as JPEG)"},
    {4, "ftypmif1"sv, "an HEIF image (save it as JPEG)"},
    {4, "ftypavif"sv, "an AVIF image (save it as PNG or JPEG)"},
    {4, "ftyp"sv, "an MP4 or QuickTime video"},
    {0, "\x1a\x45\xdf\xa3"sv, "a Matroska or WebM video"},
    {0, "ID3"sv, "an MP3 audio file"},
    {0, "OggS"sv, "an Ogg audio or video file"},
    {0, "RIFF"sv, "a RIFF file (WAV audio or AVI video)"},
};

// What a file that is not text looks like, for the refusal.
std::string DescribeBinary(std::string_view bytes) {
  for (const BinarySignature& s : kBinarySignatures) {
    if (bytes.size() >= s.offset && StartsWith(bytes.substr(s.offset), s.magic)) return s.what;
  }
  if (bytes.find('\0') != std::string_view::npos) return "binary data (it contains NUL bytes)";
  return "text that is not valid UTF-8 (save it as UTF-8)";
}

// Text that a browser or a shell would run or render rather than show.
std::optional<std::string> DescribeActiveText(std::string_view text) {
  if (StartsWith(text, "#!")) return "a script";
  if (StartsWith(text, "{\\rtf")) return "an RTF document (save it as PDF or Word)";
  if (StartsWith(text, "%!PS")) return "a PostScript file (save it as PDF)";
  const std::size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return std::nullopt;
  text.remove_prefix(start);
  if (StartsWithNoCase(text, "<?xml")) return "an XML document (SVG, XHTML or similar)";
  if (StartsWithNoCase(text, "<svg")) return "an SVG image (save it as PNG)";
  for (std::string_view tag : {"<!doctype"sv, "<html"sv, "<head"sv, "<body"sv, "<script"sv, "<iframe"sv}) {
    if (StartsWithNoCase(text, tag)) return "an HTML page (save it as PDF)";
  }
  return std::nullopt;
}

// The kind the bytes show; `expected` (from the name) only sharpens a refusal's words.
Result<Kind> SniffBytes(std::string_view bytes, std::optional<Kind> expected) {
  if (bytes.empty()) return Refused("the file is empty");
  if (StartsWith(bytes, "%PDF-1.") || StartsWith(bytes, "%PDF-2.")) {
    // Readers find a PDF's cross-reference table from its end: without "%%EOF" there it is cut short.
    const std::size_t tail = std::min<std::size_t>(bytes.size(), 4096);
    if (bytes.substr(bytes.size() - tail).find("%%EOF") == std::string_view::npos) {
      return Refused("a damaged or truncated PDF (no %%EOF at its end)");
    }
    return Kind::kPdf;
  }
  if (StartsWith(bytes, "\x89PNG\r\n\x1a\n")) {
    if (!StartsWith(bytes.substr(8), "\0\0\0\x0dIHDR"sv)) return Refused("a damaged PNG image (no IHDR header)");
    return Kind::kPng;
  }
  if (StartsWith(bytes, "\xff\xd8\xff")) return Kind::kJpeg;
  if (StartsWith(bytes, "GIF87a") || StartsWith(bytes, "GIF89a")) {
    if (bytes.size() < 13) return Refused("a damaged GIF image (cut short)");
    return Kind::kGif;
  }
  if (StartsWith(bytes, "RIFF") && bytes.size() >= 16 && bytes.substr(8, 4) == "WEBP") {
    const std::string_view chunk = bytes.substr(12, 4);
    if (chunk != "VP8 " && chunk != "VP8L" && chunk != "VP8X") return Refused("a damaged WebP image");
    return Kind::kWebp;
  }
  if (StartsWith(bytes, "PK\x03\x04")) return SniffZip(bytes, expected);
  if (StartsWith(bytes, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")) return SniffCompoundFile(bytes);

  std::string_view text = bytes;
  if (StartsWith(text, "\xef\xbb\xbf")) text.remove_prefix(3);
  if (text.find('\0') != std::string_view::npos || !IsValidUtf8(text)) return LooksLike(DescribeBinary(bytes));
  if (auto active = DescribeActiveText(text)) return LooksLike(*active);
  return Kind::kText;
}

MediaType ToMediaType(Kind k) {
  const KindInfo& i = Info(k);
  return {i.mime, i.extension, i.label};
}

}  // namespace
}  // namespace mnr::media_sniff

namespace mnr {

Result<MediaType> SniffMediaType(std::string_view bytes, std::string_view file_name) {
  using namespace media_sniff;
  const std::string prefix = file_name.empty() ? "" : PrintableName(file_name) + ": ";
  const std::string ext = ExtensionOf(file_name);
  const std::optional<Kind> named = KindOfExtension(ext);
  auto sniffed = SniffBytes(bytes, named);
  if (!sniffed.ok()) return Status::InvalidArgument(prefix + sniffed.status().message());
  const Kind kind = *sniffed;
  if (named && *named != kind) {
    const KindInfo& by_name = Info(*named);
    const KindInfo& by_bytes = Info(kind);
    return Status::InvalidArgument(prefix + "the name says " + by_name.label + " (." + ext + ") but the contents are " +
                                   (kind == Kind::kText ? std::string("plain text") : WithArticle(by_bytes.label)) +
                                   "; rename it to ." + by_bytes.extension + " or attach the right file");
  }
  return ToMediaType(kind);
}

std::string AcceptedMediaTypes() { return media_sniff::kAcceptedList; }

bool IsAcceptedMediaType(std::string_view mime) {
  for (const media_sniff::KindInfo& i : media_sniff::kKinds) {
    if (mime == i.mime) return true;
  }
  return false;
}

}  // namespace mnr
