#include "blaze/storage/status.hpp"

namespace blaze {

const char* to_string(errc code) noexcept {
  switch (code) {
    case errc::invalid_argument: return "invalid argument";
    case errc::not_found: return "not found";
    case errc::already_exists: return "already exists";
    case errc::wrong_password: return "wrong password";
    case errc::corruption: return "corruption";
    case errc::io_error: return "I/O error";
    case errc::busy: return "busy";
    case errc::not_a_database: return "not a Blaze database";
    case errc::name_mismatch: return "name mismatch";
    case errc::unsupported_version: return "unsupported version";
    case errc::crypto_error: return "crypto error";
    case errc::protocol_error: return "protocol error";
    case errc::auth_failed: return "authentication failed";
    case errc::identity_mismatch: return "peer identity mismatch";
    case errc::timeout: return "timeout";
    case errc::closed: return "connection closed";
    case errc::permission_denied: return "permission denied";
  }
  return "unknown error";
}

std::string error::to_string() const {
  std::string s = blaze::to_string(code_);
  if (!message_.empty()) {
    s += ": ";
    s += message_;
  }
  return s;
}

} // namespace blaze
