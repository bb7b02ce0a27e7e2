// BoundedInputArchive: reads cereal's portable binary format from an in-memory buffer that came from
// an untrusted peer. Unlike cereal::PortableBinaryInputArchive it refuses a size tag larger than the
// bytes left, so a lying length cannot make us allocate more than the frame we already hold.
// Vectors of structs must still bound their element count themselves (see changeset.cc).
#pragma once

#include <cereal/cereal.hpp>
#include <cereal/archives/portable_binary.hpp>
#include <cstring>
#include <string_view>

namespace mnr {

class BoundedInputArchive : public cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit BoundedInputArchive(std::string_view bytes)
      : cereal::InputArchive<BoundedInputArchive, cereal::AllowEmptyClassElision>(this), bytes_(bytes) {
    std::uint8_t stream_little_endian = 1;
    this->operator()(stream_little_endian);
    swap_ = (stream_little_endian != 0) != cereal::portable_binary_detail::is_little_endian();
  }

  template <std::size_t DataSize>
  void loadBinary(void* data, std::size_t size) {
    if (size > bytes_.size() - pos_) throw cereal::Exception("truncated: needs " + std::to_string(size) + " more bytes");
    std::memcpy(data, bytes_.data() + pos_, size);
    pos_ += size;
    if (swap_) {
      auto* p = static_cast<std::uint8_t*>(data);
      for (std::size_t i = 0; i < size; i += DataSize) cereal::portable_binary_detail::swap_bytes<DataSize>(p + i);
    }
  }
  std::size_t remaining() const { return bytes_.size() - pos_; }

 private:
  std::string_view bytes_;
  std::size_t pos_ = 0;
  bool swap_ = false;
};

template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T> && !std::is_same_v<T, bool>> CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, T& t) {
  ar.template loadBinary<sizeof(T)>(std::addressof(t), sizeof(t));
}
// A bool is one byte, 0 or 1 (an optional's "absent" flag, Ack.duplicate). Any other byte is a
// malformed message: copied into a bool it would be undefined behaviour (found by tests/fuzz).
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, bool& b) {
  std::uint8_t byte = 0;
  ar.template loadBinary<1>(&byte, 1);
  if (byte > 1) throw cereal::Exception("a boolean byte is " + std::to_string(byte) + ", not 0 or 1");
  b = byte != 0;
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::NameValuePair<T>& t) {
  ar(t.value);
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::SizeTag<T>& t) {
  std::uint64_t size = 0;
  ar.template loadBinary<sizeof(size)>(&size, sizeof(size));
  if (size > ar.remaining()) throw cereal::Exception("length " + std::to_string(size) + " exceeds the bytes left");
  t.size = static_cast<std::remove_reference_t<T>>(size);
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(BoundedInputArchive& ar, cereal::BinaryData<T>& bd) {
  using TT = std::remove_pointer_t<T>;
  ar.template loadBinary<sizeof(TT)>(bd.data, static_cast<std::size_t>(bd.size));
}

}  // namespace mnr

CEREAL_REGISTER_ARCHIVE(mnr::BoundedInputArchive)
// Only the input half of CEREAL_SETUP_ARCHIVE_TRAITS: the output archive already maps to cereal's own input.
namespace cereal::traits::detail {
template <>
struct get_output_from_input<mnr::BoundedInputArchive> {
  using type = cereal::PortableBinaryOutputArchive;
};
}  // namespace cereal::traits::detail
