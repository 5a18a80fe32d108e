// Locating, creating and opening the store a command works on. The store
// path comes from --db or $BLAZE_DB, the password from password_source.
#pragma once

#include "blaze/storage/database.hpp"

#include <filesystem>
#include <memory>
#include <string>

namespace blaze::cli {

// Options every command shares.
struct store_options {
  std::string db;   // the store directory (--db, $BLAZE_DB)
  std::string name; // the logical name (--name); empty: whatever is stored
};

// The scrypt cost for a key wrapped now ($BLAZE_KDF_LOG2_N, else the
// library default). Throws tool_error for a malformed value.
int kdf_cost_from_env();

std::filesystem::path store_path(const store_options& options);

// Creates a new store; fails when the directory already holds anything.
std::unique_ptr<database> create_store(const store_options& options);

// Opens an existing store, prompting for its password when needed.
std::unique_ptr<database> open_store(const store_options& options);

} // namespace blaze::cli
