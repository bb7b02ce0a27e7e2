// The media type of an evidence file (a law, a national strategy, a helpline's annual report attached
// to an answer), sniffed from its bytes: a file's name is never trusted. Only a short list of kinds is
// accepted (PDF, PNG, JPEG, GIF, WebP, Word, Excel, PowerPoint, OpenDocument, plain UTF-8 text); the
// rest, executables and archives first, is refused with a message that says what the file looks like.
//
// Office documents are zip or OLE2 containers, so they are opened, within bounds: a zip whose directory
// declares more than 256 MiB, an entry inflating more than 200 times its size, more than 10,000
// entries, encryption or damage is refused, and the one entry that tells the type ([Content_Types].xml,
// the OpenDocument `mimetype`) is really inflated, so a lying directory does not pass. Documents that
// carry macros are refused too.
//
// Stateless and thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "mnr/status.h"

namespace mnr {

struct MediaType {
  std::string mime;       // "application/pdf"
  std::string extension;  // the usual extension, without the dot: "pdf"
  std::string label;      // for people: "PDF document"
};

// Sniffs `bytes` (the whole file) and returns its type when it is one of the accepted kinds. Plain text
// (.txt, .csv, .md alike) is valid UTF-8 without NUL bytes, a byte-order mark allowed: "text/plain".
//
// `file_name` may be empty; only its extension is read, and it never changes the type returned, so the
// server, sniffing the same bytes without the name, finds the same type as the field office did. A
// name whose extension names another accepted type than the bytes (report.pdf holding a PNG, law.docx
// that is not a Word document) is refused; an extension we do not know is fine.
//
// Every refusal is Status::InvalidArgument whose message starts with `file_name` (when given) and says
// what the file looks like and what is accepted, e.g. "tool.pdf: not an accepted evidence file: looks
// like a Windows executable; accepted: PDF, PNG, ...". Reads at most 1 MiB of inflated data.
Result<MediaType> SniffMediaType(std::string_view bytes, std::string_view file_name);

// The accepted kinds, for --help and error messages: "PDF, PNG, JPEG, GIF, WebP, Word, Excel,
// PowerPoint, OpenDocument, plain text".
std::string AcceptedMediaTypes();

// True if `mime` is exactly one SniffMediaType can return (lower case, no parameters), so the server
// can check a type a peer declared.
bool IsAcceptedMediaType(std::string_view mime);

}  // namespace mnr
