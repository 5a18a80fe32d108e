#include "blaze/storage/database.hpp"

namespace blaze {

result<void> validate_collection(std::string_view name) {
  if (name.empty() || name.size() > 128)
    return error{errc::invalid_argument, "a collection name has 1 to 128 characters"};
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
              || c == '_' || c == '.' || c == '-';
    if (!ok)
      return error{errc::invalid_argument,
                   "collection name '" + std::string{name} + "' may hold only A-Z a-z 0-9 _ . -"};
  }
  return {};
}

result<void> validate_record_id(std::string_view id) {
  if (id.empty() || id.size() > 512)
    return error{errc::invalid_argument, "a record id has 1 to 512 bytes"};
  if (id.find('\0') != std::string_view::npos)
    return error{errc::invalid_argument, "a record id may not contain NUL"};
  return {};
}

result<void> validate_field_name(std::string_view name) {
  if (name.empty() || name.size() > 256)
    return error{errc::invalid_argument, "a field name has 1 to 256 bytes"};
  if (name.find('\0') != std::string_view::npos)
    return error{errc::invalid_argument, "a field name may not contain NUL"};
  if (name.front() == '_')
    return error{errc::invalid_argument,
                 "field name '" + std::string{name} + "': names starting with '_' are reserved"};
  return {};
}

} // namespace blaze
