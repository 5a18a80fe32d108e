// Helper process for the crash suite: a thread still writing while the
// process exits, as the thread of a detached database actor can be (CAF
// does not join those threads). The thread's writes start from an exit
// handler registered before this program's first OpenSSL call, so they run
// after any exit handler OpenSSL registered for itself; the handler waits
// for them. Prints "written during exit" and exits 0 when they went
// through; prints the error and exits 3 when one failed, 4 when the thread
// never finished.
//
// usage: blaze_exit_writer <directory>   (stores <directory>/a and /b)
#include "blaze/storage/database.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

namespace {

std::filesystem::path directory;
// The store the thread writes to: never closed, as a store whose actor
// has not ended yet.
blaze::database* kept = nullptr;
std::atomic<bool> go{false};
std::atomic<bool> done{false};
// Written by the thread before `done`.
std::string failure;

blaze::open_options options() {
  blaze::open_options o;
  o.kdf_log2_n = 10;
  return o;
}

void write_during_exit() {
  while (!go)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // A write to the open store, then a new store: key derivation, random
  // salt and data key, a first seal.
  if (auto r = kept->put("exit", "during", {{"n", std::int64_t{1}}}); !r) {
    failure = "put on the open store: " + r.error().to_string();
  } else if (auto b = blaze::database::open("b", directory / "b", "exit password", options());
             !b) {
    failure = "open a new store: " + b.error().to_string();
  } else if (auto r = (*b)->put("exit", "during", {{"n", std::int64_t{2}}}); !r) {
    failure = "put on the new store: " + r.error().to_string();
  }
  done = true;
}

void during_exit() {
  go = true;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!done && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (!done) {
    std::fputs("blaze_exit_writer: the writing thread did not finish\n", stderr);
    std::_Exit(4);
  }
  if (!failure.empty()) {
    std::fprintf(stderr, "blaze_exit_writer: %s\n", failure.c_str());
    std::fflush(stderr);
    std::_Exit(3);
  }
  std::fputs("written during exit\n", stdout);
  std::fflush(stdout);
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <directory>\n", argv[0]);
    return 2;
  }
  directory = argv[1];
  // Before anything below calls OpenSSL: exit handlers run last registered
  // first, so this one runs after OpenSSL's, should it have one.
  std::atexit(during_exit);
  auto a = blaze::database::open("a", directory / "a", "exit password", options());
  if (!a) {
    std::fprintf(stderr, "blaze_exit_writer: open: %s\n", a.error().to_string().c_str());
    return 3;
  }
  if (auto r = (*a)->put("exit", "before", {{"n", std::int64_t{0}}}); !r) {
    std::fprintf(stderr, "blaze_exit_writer: put: %s\n", r.error().to_string().c_str());
    return 3;
  }
  kept = (*a).release();
  std::thread{write_during_exit}.detach();
  return 0;
}
