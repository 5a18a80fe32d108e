// Errors as values at the storage API edge: every fallible call returns a
// result<T> holding either the value or an error with a code and a message.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace blaze {

enum class errc : std::uint8_t {
  invalid_argument = 1, // bad name, id, field or value supplied by the caller
  not_found,            // the record (or database) does not exist
  already_exists,       // create requested but a store is already there
  wrong_password,       // the password does not open this store
  corruption,           // stored bytes fail authentication or do not decode
  io_error,             // the file system or LevelDB failed
  busy,                 // the store is open in another process
  not_a_database,       // the directory holds something that is not a Blaze store
  name_mismatch,        // the store was created under another name
  unsupported_version,  // written by an incompatible format version
  crypto_error,         // OpenSSL failed (should not happen with valid input)
  // Secure channel (runtime/): every one of these ends the connection.
  protocol_error,       // malformed, oversized, replayed or out-of-order bytes from a peer
  auth_failed,          // the peer did not prove the link secret (or we could not)
  identity_mismatch,    // the peer's long-term key differs from the pinned one
  timeout,              // the peer did not finish in time
  closed,               // the connection is closed
  permission_denied,    // the credentials do not grant what was asked
};

const char* to_string(errc code) noexcept;

class error {
public:
  error(errc code, std::string message) : code_(code), message_(std::move(message)) {}
  errc code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  // "<code>: <message>", one line, suitable for a CLI.
  std::string to_string() const;

private:
  errc code_;
  std::string message_;
};

// Thrown only by result<T>::value() on misuse; never crosses the API otherwise.
class bad_result_access : public std::logic_error {
public:
  explicit bad_result_access(const error& e) : std::logic_error(e.to_string()) {}
};

template <class T>
class [[nodiscard]] result {
public:
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  result(blaze::error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  T& value() & { check(); return std::get<0>(v_); }
  const T& value() const& { check(); return std::get<0>(v_); }
  T&& value() && { check(); return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const blaze::error& error() const { return std::get<1>(v_); }

private:
  void check() const {
    if (!ok())
      throw bad_result_access(std::get<1>(v_));
  }
  std::variant<T, blaze::error> v_;
};

template <>
class [[nodiscard]] result<void> {
public:
  result() = default;
  result(blaze::error e) : err_(std::move(e)), ok_(false) {}
  bool ok() const noexcept { return ok_; }
  explicit operator bool() const noexcept { return ok_; }
  void value() const {
    if (!ok_)
      throw bad_result_access(err_);
  }
  const blaze::error& error() const { return err_; }

private:
  blaze::error err_{errc::invalid_argument, {}};
  bool ok_ = true;
};

} // namespace blaze
