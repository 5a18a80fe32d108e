// Crash consistency with a real process: a writer is killed with SIGKILL in
// the middle of its writes; the store must reopen with its records and its
// op log in agreement (a change and its op are committed together or not).
#include "fixture.hpp"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef BLAZE_CRASH_WRITER
#error "BLAZE_CRASH_WRITER must name the blaze_crash_writer executable"
#endif
#ifndef BLAZE_EXIT_WRITER
#error "BLAZE_EXIT_WRITER must name the blaze_exit_writer executable"
#endif

extern char** environ;

using namespace blaze;
using namespace blaze::test;

namespace {

// The simulated peer whose ops the writer applies (see crash_writer.cpp).
constexpr node_id remote_origin = 0xC0FFEE00C0FFEEull;

// A writer (crash_writer.cpp, exit_writer.cpp) as a child process with its
// stdout on a pipe.
class writer_process {
public:
  // The crash writer.
  writer_process(const std::filesystem::path& store, std::uint64_t seed)
    : writer_process({BLAZE_CRASH_WRITER, store.string(), std::to_string(seed)}) {}

  explicit writer_process(std::vector<std::string> args) {
    int fds[2];
    BOOST_TEST_REQUIRE(::pipe2(fds, O_CLOEXEC) == 0, std::strerror(errno));
    out_ = fds[0];
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = ::posix_spawn(&pid_, args[0].c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    BOOST_TEST_REQUIRE(rc == 0, "posix_spawn " << args[0] << ": " << std::strerror(rc));
  }

  ~writer_process() {
    if (pid_ > 0)
      kill_hard();
    if (out_ >= 0)
      ::close(out_);
  }

  // Waits for the "ready" line; false on EOF (the writer died) or timeout.
  bool wait_ready(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (output_.find("ready\n") == std::string::npos)
      if (read_some(deadline) != read_result::data)
        return false;
    return true;
  }

  // Reads the output until the writer closes it, then reaps the writer;
  // returns the wait status. After `timeout`, SIGKILL.
  int wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto r = read_some(deadline);
      if (r == read_result::timeout)
        return kill_hard();
      if (r == read_result::end)
        return reap();
    }
  }

  // SIGKILL and reap; returns the wait status.
  int kill_hard() {
    ::kill(pid_, SIGKILL);
    return reap();
  }

  const std::string& output() const { return output_; }

private:
  enum class read_result { data, end, timeout };

  // Appends what the writer printed next to output_ (end: it closed its
  // stdout or the read failed).
  read_result read_some(std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return read_result::timeout;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        continue;
      char buf[256];
      auto n = ::read(out_, buf, sizeof buf);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return read_result::end;
      output_.append(buf, static_cast<std::size_t>(n));
      return read_result::data;
    }
  }

  // Waits for the writer to end; returns the wait status.
  int reap() {
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
    return status;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  std::string output_;
};

std::string describe_status(int status) {
  if (WIFSIGNALED(status))
    return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status))
    return "exited with " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

} // namespace

BOOST_AUTO_TEST_SUITE(crash)

BOOST_AUTO_TEST_CASE(killed_writer_leaves_records_and_op_log_in_agreement) {
  // A kill only exposes a non-atomic commit when it lands inside a window of
  // microseconds, so many kills: 4 stores, each killed 5 times, reopened and
  // written again.
  const std::uint64_t seed = 7731;
  BOOST_TEST_MESSAGE("crash seed " << seed);
  std::mt19937_64 rng(seed);
  for (int store_no = 1; store_no <= 4; ++store_no) {
    temp_dir dir;
    std::size_t previous_ops = 0;
    for (int kill_no = 1; kill_no <= 5; ++kill_no) {
      BOOST_TEST_CONTEXT("seed " << seed << ", store " << store_no << ", kill " << kill_no) {
        {
          writer_process writer(dir.store(), rng());
          if (!writer.wait_ready(std::chrono::seconds(20))) {
            const int status = writer.kill_hard();
            BOOST_FAIL("writer never became ready: " << describe_status(status) << ", output '"
                                                     << writer.output() << "'");
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(10 + rng() % 50));
          const int status = writer.kill_hard();
          BOOST_TEST_REQUIRE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL),
                             "writer " << describe_status(status) << " before the kill");
        }

        auto db = open_store(dir.store(), "crash", "crash password");
        const node_id origin = db->id();
        const auto ops = BLAZE_OK(db->ops_since({}));
        // Per origin (the writer's own and its simulated peer's), the op log
        // holds seq 1..n without holes, and the version vector says n.
        std::map<node_id, std::uint64_t> last;
        for (std::size_t i = 0; i < ops.size(); ++i) {
          auto& o = ops[i];
          if (o.origin != origin && o.origin != remote_origin)
            BOOST_FAIL("op " << i << " from unknown origin " << o.origin);
          if (o.seq != last[o.origin] + 1)
            BOOST_FAIL("op log of origin " << o.origin << " jumps from " << last[o.origin] << " to "
                                           << o.seq);
          last[o.origin] = o.seq;
        }
        const std::uint64_t own = last[origin];
        BOOST_TEST(db->version().get(origin) == own);
        BOOST_TEST(db->version().get(remote_origin) == last[remote_origin]);
        BOOST_TEST(db->version().entries().size() == (last[remote_origin] ? 2u : 1u));
        BOOST_TEST(own > previous_ops, "the writer made no progress");
        BOOST_TEST_MESSAGE("store " << store_no << " kill " << kill_no << ": " << own
                                    << " own ops, " << last[remote_origin]
                                    << " applied ops in the log");
        previous_ops = own;

        // Replaying the op log from scratch must rebuild exactly the records.
        temp_dir fresh_dir;
        auto fresh = open_store(fresh_dir.store(), "crash", "crash password");
        auto st = BLAZE_OK(fresh->apply(ops));
        BOOST_TEST(st.applied == ops.size());
        for (const char* coll : {"crash", "side"}) {
          BOOST_TEST_CONTEXT("collection " << coll) {
            auto crashed = BLAZE_OK(db->list(coll));
            auto replayed = BLAZE_OK(fresh->list(coll));
            BOOST_TEST(crashed == replayed, boost::test_tools::per_element());
            BOOST_TEST(BLAZE_OK(db->count(coll)) == crashed.size());
          }
        }
        BOOST_TEST(fresh->version() == db->version());
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(store_held_by_another_process_is_busy) {
  temp_dir dir;
  writer_process writer(dir.store(), 1);
  if (!writer.wait_ready(std::chrono::seconds(20))) {
    const int status = writer.kill_hard();
    BOOST_FAIL("writer never became ready: " << describe_status(status));
  }
  BLAZE_CHECK_ERRC(database::open("crash", dir.store(), "crash password", cheap_options()),
                   errc::busy);
  writer.kill_hard();
  // The kernel drops the dead writer's lock: the store opens again.
  open_store(dir.store(), "crash", "crash password");
}

// A thread of a detached database actor (CAF does not join them) can still
// be writing while the process exits. OpenSSL's own exit cleanup, which
// Blaze turns off, freed the state such a thread then used.
BOOST_AUTO_TEST_CASE(a_thread_still_writing_while_the_process_exits_completes_its_writes) {
  temp_dir dir;
  writer_process writer({BLAZE_EXIT_WRITER, dir.root().string()});
  const int status = writer.wait_exit(std::chrono::seconds(60));
  BOOST_TEST_REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0),
                     "exit writer " << describe_status(status) << ", output '" << writer.output()
                                    << "' (its stderr is above)");
  BOOST_TEST(writer.output() == "written during exit\n");
  // Both stores hold what was written, the one written during exit too.
  auto a = open_store(dir.root() / "a", "a", "exit password");
  BOOST_TEST(BLAZE_OK(a->count("exit")) == 2u);
  auto b = open_store(dir.root() / "b", "b", "exit password");
  auto during = BLAZE_OK(b->get("exit", "during"));
  BOOST_TEST_REQUIRE(during.has_value());
  BOOST_TEST_REQUIRE(during->field("n") != nullptr);
  BOOST_TEST((*during->field("n") == value{std::int64_t{2}}));
}

BOOST_AUTO_TEST_SUITE_END()
