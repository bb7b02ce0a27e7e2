// Size limits on survey content and on the wire. They are part of the contract (docs/protocol.md,
// README): raising one is a compatible change, lowering one is not.
#pragma once

#include <cstddef>

namespace mnr::limits {

inline constexpr std::size_t kNoteBytes = 16 * 1024;             // an answer's note
inline constexpr std::size_t kPracticeTitleBytes = 512;
inline constexpr std::size_t kPracticeTextBytes = 64 * 1024;
inline constexpr std::size_t kNameBytes = 200;                   // country name, device name, region
inline constexpr std::size_t kImportFileBytes = 64 * 1024 * 1024;
inline constexpr std::size_t kOpsPerChangeSet = 200;             // also the unit of resume on a bad link
inline constexpr std::size_t kChangeSetBytes = 2 * 1024 * 1024;  // serialized, before compression
inline constexpr std::size_t kFrameBytes = 4 * 1024 * 1024;      // one frame's payload on the wire
inline constexpr std::size_t kPullChunkFields = 500;
// Attachments (mnr/attachment.h): the unit of transfer and resume, and the ceiling no server setting
// may raise (the server's own limit, `attachment_max_bytes`, defaults to 20 MiB).
inline constexpr std::size_t kBlobChunkBytes = 64 * 1024;
inline constexpr std::size_t kAttachmentBytes = 64 * 1024 * 1024;
inline constexpr std::size_t kAttachmentTitleBytes = 200;

}  // namespace mnr::limits
