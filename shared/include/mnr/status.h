// Status: the outcome of an operation that can fail in an expected way. Carries a code and a message
// that names what failed, on which object, and how to fix it. Cheap to copy; not thread-safe to mutate.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace mnr {

class Status {
 public:
  enum class Code {
    kOk = 0,
    kInvalidArgument,   // bad input from a user or peer; nothing was changed
    kNotFound,
    kAlreadyExists,
    kIOError,           // the OS or SQLite failed to read or write
    kCorruption,        // stored or received bytes do not verify
    kRefused,           // the peer or policy refused the request (scope, revoked, role)
    kUnavailable,       // a link could not be made or was lost; retrying later is expected to work
    kPermissionDenied,
  };

  Status() = default;
  static Status OK() { return {}; }
  static Status InvalidArgument(std::string_view msg) { return {Code::kInvalidArgument, msg}; }
  static Status NotFound(std::string_view msg) { return {Code::kNotFound, msg}; }
  static Status AlreadyExists(std::string_view msg) { return {Code::kAlreadyExists, msg}; }
  static Status IOError(std::string_view msg) { return {Code::kIOError, msg}; }
  static Status Corruption(std::string_view msg) { return {Code::kCorruption, msg}; }
  static Status Refused(std::string_view msg) { return {Code::kRefused, msg}; }
  static Status Unavailable(std::string_view msg) { return {Code::kUnavailable, msg}; }
  static Status PermissionDenied(std::string_view msg) { return {Code::kPermissionDenied, msg}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // Returns a copy whose message is prefixed with `context: `, to say where an inner failure happened.
  Status With(std::string_view context) const {
    if (ok()) return *this;
    return {code_, std::string(context) + ": " + message_};
  }

 private:
  Status(Code c, std::string_view m) : code_(c), message_(m) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// Result<T>: a T on success, a non-OK Status otherwise.
template <typename T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}                     // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}             // NOLINT: implicit by design
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }

 private:
  Status status_;
  std::optional<T> value_;
};

#define MNR_RETURN_IF_ERROR(expr)          \
  do {                                     \
    ::mnr::Status mnr_status_ = (expr);    \
    if (!mnr_status_.ok()) return mnr_status_; \
  } while (0)

// The same inside a coroutine.
#define MNR_CO_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::mnr::Status mnr_status_ = (expr);       \
    if (!mnr_status_.ok()) co_return mnr_status_; \
  } while (0)

}  // namespace mnr
