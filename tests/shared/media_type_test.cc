// mnr::SniffMediaType: evidence files built here as real files (PDF, PNG, JPEG, Office documents
// written with minizip and libxlsxwriter, OpenDocument, OLE2 compound files, text) are typed from their
// bytes; executables, zip bombs, encrypted, damaged and misnamed files are refused with a message that
// says why.
#include "mnr/media_type.h"

#include <minizip/zip.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mnr/xlsx.h"
#include "tests/support/process.h"

using namespace std::string_literals;

namespace {

const std::string kPdf = "%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
                         "2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n"
                         "trailer << /Root 1 0 R >>\n%%EOF\n";
const std::string kPng = "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\0\x01\0\0\0\x01\x08\x02\0\0\0\x90\x77\x53\xde"s;
const std::string kJpeg = "\xff\xd8\xff\xe0\0\x10JFIF\0\x01\x01\0\0\x01\0\x01\0\0\xff\xd9"s;

// A zip written by minizip (the library Debian ships) into `dir`, returned as bytes.
class ZipFile {
 public:
  ZipFile(const mnr::test::TempDir& dir, const std::string& name) : path_(dir / name) {
    zip_ = zipOpen64(path_.c_str(), APPEND_STATUS_CREATE);
    REQUIRE(zip_ != nullptr);
  }
  ZipFile& Add(const std::string& name, const std::string& text, bool stored = false) {
    Open(name, stored ? 0 : 6);
    REQUIRE(zipWriteInFileInZip(zip_, text.data(), static_cast<unsigned>(text.size())) == ZIP_OK);
    REQUIRE(zipCloseFileInZip(zip_) == ZIP_OK);
    return *this;
  }
  // `mib` MiB of zeros, written 1 MiB at a time so the test never holds the whole entry.
  ZipFile& AddZeros(const std::string& name, int mib) {
    Open(name, 1);
    const std::string zeros(1 << 20, '\0');
    for (int i = 0; i < mib; ++i) {
      REQUIRE(zipWriteInFileInZip(zip_, zeros.data(), static_cast<unsigned>(zeros.size())) == ZIP_OK);
    }
    REQUIRE(zipCloseFileInZip(zip_) == ZIP_OK);
    return *this;
  }
  std::string Bytes() {
    REQUIRE(zipClose(zip_, nullptr) == ZIP_OK);
    zip_ = nullptr;
    return mnr::test::ReadText(path_);
  }
  ~ZipFile() {
    if (zip_) zipClose(zip_, nullptr);
  }

 private:
  void Open(const std::string& name, int level) {
    zip_fileinfo info{};
    REQUIRE(zipOpenNewFileInZip64(zip_, name.c_str(), &info, nullptr, 0, nullptr, 0, nullptr,
                                  level == 0 ? 0 : Z_DEFLATED, level, 0) == ZIP_OK);
  }
  std::string path_;
  zipFile zip_ = nullptr;
};

std::string ContentTypes(const std::string& part, const std::string& type) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n"
         "<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">"
         "<Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>"
         "<Default Extension=\"xml\" ContentType=\"application/xml\"/>"
         "<Override PartName=\"/" + part + "\" ContentType=\"" + type + "\"/></Types>";
}

const std::string kWordMain = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";

ZipFile& WordParts(ZipFile& zip, const std::string& content_type = kWordMain) {
  return zip.Add("[Content_Types].xml", ContentTypes("word/document.xml", content_type))
      .Add("_rels/.rels",
           "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship "
           "Id=\"rId1\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" "
           "Target=\"word/document.xml\"/></Relationships>")
      .Add("word/document.xml",
           "<w:document xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"><w:body><w:p><w:r>"
           "<w:t>Child Protection Act, 2021</w:t></w:r></w:p></w:body></w:document>");
}

std::string Docx(const mnr::test::TempDir& dir) {
  ZipFile zip(dir, "law.docx");
  return WordParts(zip).Bytes();
}

std::string OpenDocument(const mnr::test::TempDir& dir, const std::string& mimetype, const std::string& manifest_extra = "") {
  ZipFile zip(dir, "doc.od");
  return zip.Add("mimetype", mimetype, /*stored=*/true)
      .Add("content.xml", "<office:document-content xmlns:office=\"urn:oasis:names:tc:opendocument:xmlns:office:1.0\"/>")
      .Add("META-INF/manifest.xml",
           "<manifest:manifest xmlns:manifest=\"urn:oasis:names:tc:opendocument:xmlns:manifest:1.0\">"
           "<manifest:file-entry manifest:full-path=\"content.xml\" manifest:media-type=\"text/xml\">" +
               manifest_extra + "</manifest:file-entry></manifest:manifest>")
      .Bytes();
}

void PutLe16(std::string& b, std::size_t at, std::uint32_t v) {
  b[at] = static_cast<char>(v & 0xFF);
  b[at + 1] = static_cast<char>((v >> 8) & 0xFF);
}
void PutLe32(std::string& b, std::size_t at, std::uint32_t v) {
  PutLe16(b, at, v & 0xFFFF);
  PutLe16(b, at + 2, v >> 16);
}
std::uint32_t GetLe32(const std::string& b, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(b[at + static_cast<std::size_t>(i)]);
  return v;
}

// The offsets of entry `name`'s central directory record and local header.
std::pair<std::size_t, std::size_t> ZipRecords(const std::string& zip, const std::string& name) {
  for (std::size_t at = zip.find("PK\x01\x02"); at != std::string::npos; at = zip.find("PK\x01\x02", at + 4)) {
    const std::size_t name_len = GetLe32(zip, at + 28) & 0xFFFF;
    if (zip.compare(at + 46, name_len, name) == 0) return {at, GetLe32(zip, at + 42)};
  }
  FAIL("no zip entry " << name);
  return {0, 0};
}

// A version-3 OLE2 compound file whose root holds `children` ({name, 1 storage | 2 stream}), linked as
// right siblings: one allocation-table sector and one directory sector per four entries.
std::string CompoundFile(const std::vector<std::pair<std::string, int>>& children) {
  const std::size_t dir_sectors = (children.size() + 1 + 3) / 4;
  std::string b(512 * (1 + 1 + dir_sectors), '\0');
  b.replace(0, 8, "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1");
  PutLe16(b, 0x18, 0x3E);
  PutLe16(b, 0x1A, 3);
  PutLe16(b, 0x1C, 0xFFFE);
  PutLe16(b, 0x1E, 9);
  PutLe16(b, 0x20, 6);
  PutLe32(b, 0x2C, 1);  // one allocation-table sector: sector 0
  PutLe32(b, 0x30, 1);  // the directory starts at sector 1
  PutLe32(b, 0x38, 4096);
  PutLe32(b, 0x3C, 0xFFFFFFFE);
  PutLe32(b, 0x44, 0xFFFFFFFE);
  PutLe32(b, 0x4C, 0);
  for (std::size_t i = 1; i < 109; ++i) PutLe32(b, 0x4C + 4 * i, 0xFFFFFFFF);
  const std::size_t fat = 512;
  for (std::size_t i = 0; i < 128; ++i) PutLe32(b, fat + 4 * i, 0xFFFFFFFF);
  PutLe32(b, fat, 0xFFFFFFFD);
  for (std::size_t s = 1; s <= dir_sectors; ++s) PutLe32(b, fat + 4 * s, s == dir_sectors ? 0xFFFFFFFE : s + 1);
  const auto entry = [&](std::size_t id, const std::string& name, int type, std::uint32_t right, std::uint32_t child) {
    const std::size_t at = 1024 + 128 * id;
    for (std::size_t i = 0; i < name.size(); ++i) PutLe16(b, at + 2 * i, static_cast<unsigned char>(name[i]));
    PutLe16(b, at + 0x40, static_cast<std::uint32_t>(2 * (name.size() + 1)));
    b[at + 0x42] = static_cast<char>(type);
    b[at + 0x43] = 1;  // black
    PutLe32(b, at + 0x44, 0xFFFFFFFF);
    PutLe32(b, at + 0x48, right);
    PutLe32(b, at + 0x4C, child);
  };
  entry(0, "Root Entry", 5, 0xFFFFFFFF, children.empty() ? 0xFFFFFFFF : 1);
  for (std::size_t i = 0; i < children.size(); ++i) {
    const auto next = static_cast<std::uint32_t>(i + 2 <= children.size() ? i + 2 : 0xFFFFFFFF);
    entry(i + 1, children[i].first, children[i].second, next, 0xFFFFFFFF);
  }
  return b;
}

std::string MimeOf(const std::string& bytes, const std::string& name) {
  auto r = mnr::SniffMediaType(bytes, name);
  INFO(r.status().message());
  REQUIRE(r.ok());
  return r->mime;
}

std::string RefusalOf(const std::string& bytes, const std::string& name) {
  auto r = mnr::SniffMediaType(bytes, name);
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == mnr::Status::Code::kInvalidArgument);
  return r.status().message();
}

}  // namespace

TEST_CASE("An evidence file's type comes from its bytes, and a name that lies about it is refused") {
  mnr::test::TempDir dir;
  const std::string docx = Docx(dir);

  auto pdf = mnr::SniffMediaType(kPdf, "law.pdf");
  REQUIRE(pdf.ok());
  CHECK(pdf->mime == "application/pdf");
  CHECK(pdf->extension == "pdf");
  CHECK(pdf->label == "PDF document");
  CHECK(MimeOf(kPng, "chart.png") == "image/png");
  CHECK(MimeOf(kJpeg, "photo.JPEG") == "image/jpeg");
  CHECK(MimeOf("GIF89a\x01\0\x01\0\0\0\0;"s, "logo.gif") == "image/gif");
  CHECK(MimeOf("RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0\x2f\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0"s, "a.webp") ==
        "image/webp");
  CHECK(MimeOf(docx, "law.docx") == "application/vnd.openxmlformats-officedocument.wordprocessingml.document");

  // A name we do not know, or none, leaves the type to the bytes; the extension's case does not matter.
  CHECK(MimeOf(kPng, "scan.bin") == "image/png");
  CHECK(MimeOf(kPdf, "") == "application/pdf");
  CHECK(MimeOf(kPdf, "Strategy.PDF") == "application/pdf");
  CHECK(mnr::SniffMediaType(kJpeg, "photo.jpeg")->extension == "jpg");

  std::string m = RefusalOf(kPng, "report.pdf");
  CHECK(m == "report.pdf: the name says PDF document (.pdf) but the contents are a PNG image; rename it to .png or "
             "attach the right file");
  m = RefusalOf(docx, "law.xlsx");
  CHECK(m == "law.xlsx: the name says Excel workbook (.xlsx) but the contents are a Word document; rename it to .docx "
             "or attach the right file");
  m = RefusalOf("just words\n", "law.pdf");
  CHECK(m == "law.pdf: the name says PDF document (.pdf) but the contents are plain text; rename it to .txt or attach "
             "the right file");
  m = RefusalOf(kPdf, "notes.txt");
  CHECK(m.find("the contents are a PDF document") != std::string::npos);

  // A zip that claims to be a Word document but has no word/document.xml.
  ZipFile fake(dir, "fake.zip");
  const std::string not_word = fake.Add("readme.txt", "hello").Bytes();
  m = RefusalOf(not_word, "law.docx");
  CHECK(m == "law.docx: not an accepted evidence file: looks like a zip archive without word/document.xml; accepted: "
             "PDF, PNG, JPEG, GIF, WebP, Word, Excel, PowerPoint, OpenDocument, plain text");
  CHECK(RefusalOf(not_word, "").find("looks like a zip archive (not a Word, Excel, PowerPoint or OpenDocument file)") !=
        std::string::npos);
  // A zip that holds word/document.xml but does not declare it is no Word document either.
  ZipFile undeclared(dir, "undeclared.docx");
  m = RefusalOf(WordParts(undeclared, "application/xml").Bytes(), "law.docx");
  CHECK(m.find("looks like a zip archive whose [Content_Types].xml does not declare its word/document.xml") !=
        std::string::npos);
}

TEST_CASE("Evidence in Office and OpenDocument formats is typed by its main part or its mimetype entry") {
  mnr::test::TempDir dir;
  const std::string book = dir / "counts.xlsx";
  REQUIRE(mnr::xlsx::WriteWorkbook(book, {{"counts", {"indicator", "n"}, {{std::string("c11"), 12.0}}}}).ok());
  CHECK(MimeOf(mnr::test::ReadText(book), "counts.xlsx") ==
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");

  ZipFile pptx(dir, "deck.pptx");
  const std::string deck =
      pptx.Add("[Content_Types].xml",
               ContentTypes("ppt/presentation.xml",
                            "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"))
          .Add("ppt/presentation.xml", "<p:presentation xmlns:p=\"http://schemas.openxmlformats.org/presentationml/2006/main\"/>")
          .Bytes();
  CHECK(MimeOf(deck, "deck.pptx") == "application/vnd.openxmlformats-officedocument.presentationml.presentation");

  CHECK(MimeOf(OpenDocument(dir, "application/vnd.oasis.opendocument.text"), "law.odt") ==
        "application/vnd.oasis.opendocument.text");
  CHECK(MimeOf(OpenDocument(dir, "application/vnd.oasis.opendocument.spreadsheet"), "") ==
        "application/vnd.oasis.opendocument.spreadsheet");
  CHECK(MimeOf(OpenDocument(dir, "application/vnd.oasis.opendocument.presentation"), "talk.odp") ==
        "application/vnd.oasis.opendocument.presentation");
  std::string m = RefusalOf(OpenDocument(dir, "application/vnd.oasis.opendocument.text"), "law.ods");
  CHECK(m.find("the name says OpenDocument spreadsheet (.ods) but the contents are an OpenDocument text") !=
        std::string::npos);
  m = RefusalOf(OpenDocument(dir, "application/vnd.oasis.opendocument.graphics"), "drawing.odg");
  CHECK(m.find("looks like an OpenDocument file of type \"application/vnd.oasis.opendocument.graphics\"") !=
        std::string::npos);
  m = RefusalOf(OpenDocument(dir, "application/vnd.oasis.opendocument.text",
                             "<manifest:encryption-data manifest:checksum-type=\"SHA1/1K\"/>"),
                "secret.odt");
  CHECK(m == "secret.odt: refused: a password-protected OpenDocument file (save it without a password)");

  ZipFile docm(dir, "macros.docm");
  docm.Add("word/vbaProject.bin", "\x01\x02"s);
  m = RefusalOf(WordParts(docm, "application/vnd.ms-word.document.macroEnabled.main+xml").Bytes(), "macros.docm");
  CHECK(m.find("refused: an Office document with macros") != std::string::npos);

  // Word, Excel and PowerPoint 97-2003: the stream at the root of the compound file names the kind.
  CHECK(MimeOf(CompoundFile({{"\x01" "CompObj", 2}, {"WordDocument", 2}, {"1Table", 2}}), "law.doc") ==
        "application/msword");
  CHECK(MimeOf(CompoundFile({{"Workbook", 2}}), "") == "application/vnd.ms-excel");
  CHECK(MimeOf(CompoundFile({{"Current User", 2}, {"PowerPoint Document", 2}, {"Pictures", 2}}), "deck.ppt") ==
        "application/vnd.ms-powerpoint");
  CHECK(RefusalOf(CompoundFile({{"WordDocument", 2}}), "law.xls")
            .find("the name says Excel 97-2003 workbook (.xls) but the contents are a Word 97-2003 document") !=
        std::string::npos);
  m = RefusalOf(CompoundFile({{"__substg1.0_0037001F", 2}, {"__properties_version1.0", 2}}), "mail.msg");
  CHECK(m.find("looks like an OLE2 compound file that is not a Word, Excel or PowerPoint document") !=
        std::string::npos);
  CHECK(RefusalOf(CompoundFile({{"EncryptionInfo", 2}, {"EncryptedPackage", 2}}), "law.docx") ==
        "law.docx: refused: a password-protected Office document (save it without a password)");
  CHECK(RefusalOf(CompoundFile({{"WordDocument", 2}, {"Macros", 1}}), "law.doc")
            .find("refused: an Office document with macros") != std::string::npos);
  std::string looping = CompoundFile({{"Data", 2}, {"WordDocument", 2}});
  PutLe32(looping, 1024 + 128 * 2 + 0x48, 1);  // the second child points back at the first
  CHECK(RefusalOf(looping, "law.doc") == "law.doc: refused: damaged OLE2 compound file (a looping directory)");
  CHECK(RefusalOf(CompoundFile({{"WordDocument", 2}}).substr(0, 700), "law.doc")
            .find("refused: damaged OLE2 compound file") != std::string::npos);
}

TEST_CASE("Zip bombs, encrypted and damaged zips are refused as evidence, and a lying directory does not pass") {
  mnr::test::TempDir dir;

  // 300 MiB of zeros: refused from the directory, before anything is inflated.
  ZipFile bomb(dir, "bomb.docx");
  std::string m = RefusalOf(WordParts(bomb).AddZeros("word/media/zeros.bin", 300).Bytes(), "bomb.docx");
  CHECK(m.rfind("bomb.docx: refused: a zip bomb: zip entry word/media/zeros.bin declares 314,572,800 bytes "
                "inflated from ", 0) == 0);
  CHECK(m.find("(more than 200 times)") != std::string::npos);

  // Entries that each look reasonable but together declare more than 256 MiB.
  std::string noise(2 << 20, '\0');
  std::uint32_t state = 12345;
  for (char& c : noise) {
    state = state * 1103515245u + 12345u;
    c = static_cast<char>(state >> 24);
  }
  ZipFile big(dir, "big.docx");
  std::string large = WordParts(big).Add("word/media/noise.bin", noise).Bytes();
  auto [cd, local] = ZipRecords(large, "word/media/noise.bin");
  PutLe32(large, cd + 24, 300u << 20);
  PutLe32(large, local + 22, 300u << 20);
  CHECK(RefusalOf(large, "big.docx") ==
        "big.docx: refused: a zip bomb: its entries declare more than 256 MiB inflated in all");

  ZipFile many(dir, "many.docx");
  WordParts(many);
  for (int i = 0; i < 10000; ++i) many.Add("word/p" + std::to_string(i), "", /*stored=*/true);
  CHECK(RefusalOf(many.Bytes(), "many.docx") ==
        "many.docx: refused: a zip archive of 10,003 entries (at most 10,000)");

  // [Content_Types].xml declared shorter than it is: only the declared bytes are inflated, and their
  // checksum does not match.
  ZipFile lying(dir, "lying.docx");
  std::string lie = WordParts(lying).Bytes();
  auto [lie_cd, lie_local] = ZipRecords(lie, "[Content_Types].xml");
  const std::uint32_t real_size = GetLe32(lie, lie_cd + 24);
  PutLe32(lie, lie_cd + 24, real_size - 40);
  PutLe32(lie, lie_local + 22, real_size - 40);
  CHECK(RefusalOf(lie, "lying.docx") ==
        "lying.docx: refused: damaged zip archive (zip entry [Content_Types].xml: checksum mismatch)");

  ZipFile locked(dir, "locked.docx");
  std::string encrypted = WordParts(locked).Bytes();
  auto [enc_cd, enc_local] = ZipRecords(encrypted, "word/document.xml");
  PutLe16(encrypted, enc_cd + 8, 1);
  PutLe16(encrypted, enc_local + 6, 1);
  CHECK(RefusalOf(encrypted, "locked.docx") ==
        "locked.docx: refused: zip entry word/document.xml is encrypted (save the document without a password)");

  ZipFile cut(dir, "cut.docx");
  const std::string whole = WordParts(cut).Bytes();
  CHECK(RefusalOf(whole.substr(0, whole.size() - 30), "cut.docx") ==
        "cut.docx: refused: damaged zip archive (no readable central directory)");
}

TEST_CASE("Plain UTF-8 text is accepted as evidence; executables, other binaries and active text are refused") {
  CHECK(MimeOf("Loi n° 2021-12 relative à la protection de l'enfance\n", "loi.txt") == "text/plain");
  // The name never changes the type: the server sniffs the same bytes without it.
  CHECK(MimeOf("\xef\xbb\xbf" "country;helpline\nQ01;116 111\n", "lines.CSV") == "text/plain");
  CHECK(MimeOf("# Annual report\n\nCalls answered: 4,210\n", "report.md") == "text/plain");
  CHECK(MimeOf("no extension at all", "README") == "text/plain");
  auto text = mnr::SniffMediaType("a,b\n", "");
  REQUIRE(text.ok());
  CHECK(text->extension == "txt");
  CHECK(text->label == "plain text");

  std::string pe = "MZ\x90\0\x03\0\0\0\x04\0\0\0\xff\xff\0\0"s + std::string(64, '\0');
  CHECK(RefusalOf(pe, "tool.pdf") ==
        "tool.pdf: not an accepted evidence file: looks like a Windows executable; accepted: PDF, PNG, JPEG, GIF, "
        "WebP, Word, Excel, PowerPoint, OpenDocument, plain text");
  CHECK(RefusalOf("\x7f" "ELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"s, "law.txt").find("looks like a Linux program") !=
        std::string::npos);
  CHECK(RefusalOf("text\0with a NUL"s, "a.txt").find("looks like binary data (it contains NUL bytes)") !=
        std::string::npos);
  CHECK(RefusalOf("caf\xe9 cr\xe8me", "menu.txt").find("looks like text that is not valid UTF-8 (save it as UTF-8)") !=
        std::string::npos);
  CHECK(RefusalOf("\xff\xfeh\0i\0"s, "u16.txt").find("looks like UTF-16 text (save it as UTF-8)") != std::string::npos);
  CHECK(MimeOf("MZ is where the report starts\n", "mz.txt") == "text/plain");
  CHECK(RefusalOf("#!/bin/sh\nrm -rf /\n", "run.txt").find("looks like a script") != std::string::npos);
  CHECK(RefusalOf("\n  <!DOCTYPE html><html><script>alert(1)</script>", "page.txt").find("looks like an HTML page") !=
        std::string::npos);
  CHECK(RefusalOf("PK\x03\x04", "").find("refused: damaged zip archive") != std::string::npos);
  CHECK(RefusalOf("", "empty.pdf") == "empty.pdf: refused: the file is empty");
  CHECK(RefusalOf("%PDF-1.7\n1 0 obj", "cut.pdf") == "cut.pdf: refused: a damaged or truncated PDF (no %%EOF at its end)");
  // The sender's file name is echoed without control characters.
  CHECK(RefusalOf(pe, "evil\nname.exe").rfind("evil?name.exe: ", 0) == 0);
}

TEST_CASE("The accepted evidence types are listed once, and a declared type is checked exactly") {
  CHECK(mnr::AcceptedMediaTypes() == "PDF, PNG, JPEG, GIF, WebP, Word, Excel, PowerPoint, OpenDocument, plain text");
  for (const char* mime : {"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp",
                           "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                           "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                           "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
                           "application/vnd.oasis.opendocument.presentation", "application/msword",
                           "application/vnd.ms-excel", "application/vnd.ms-powerpoint", "text/plain"}) {
    INFO(mime);
    CHECK(mnr::IsAcceptedMediaType(mime));
  }
  for (const char* mime : {"application/x-msdownload", "application/zip", "text/html", "image/svg+xml", "text/csv",
                           "APPLICATION/PDF", "text/plain; charset=utf-8", ""}) {
    INFO(mime);
    CHECK_FALSE(mnr::IsAcceptedMediaType(mime));
  }
}

TEST_CASE("Evidence files written by other tools (the fuzz seeds, Python's zipfile) are typed the same with or without a name") {
  const std::string seeds = mnr::test::SourceDir() + "/tests/fuzz/corpus/fuzz_media_type/";
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"law.pdf", "application/pdf"},
      {"chart.png", "image/png"},
      {"photo.jpg", "image/jpeg"},
      {"logo.gif", "image/gif"},
      {"notes.txt", "text/plain"},
      {"law.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"law.odt", "application/vnd.oasis.opendocument.text"},
      {"law.doc", "application/msword"},
  };
  for (const auto& [name, mime] : expected) {
    INFO(name);
    const std::string bytes = mnr::test::ReadText(seeds + name);
    CHECK(MimeOf(bytes, name) == mime);
    CHECK(MimeOf(bytes, "") == mime);
    CHECK(MimeOf(bytes, "attachment.bin") == mime);
  }
  CHECK(RefusalOf(mnr::test::ReadText(seeds + "tool.exe"), "tool.exe").find("looks like a Windows executable") !=
        std::string::npos);
}
