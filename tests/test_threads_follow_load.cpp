// The default thread count follows the load (core/threading.h, core/cpu_load.h): one thread fewer for
// each core another process keeps busy, a fixed count (set_num_threads, OMP_NUM_THREADS) is obeyed
// as given, and the OpenMP wait policy stays the user's.
#include <doctest/doctest.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <string>
#include <thread>

#include "core/cpu_load.h"
#include "core/threading.h"

using namespace convgrad;

namespace {

// A child process spinning on the last CPU of this process's mask until stopped.
struct Spinner {
  pid_t pid = -1;
  Spinner() {
    cpu_set_t mask;
    CPU_ZERO(&mask);
    REQUIRE(sched_getaffinity(0, sizeof mask, &mask) == 0);
    int last = -1;
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &mask)) last = c;
    pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      cpu_set_t one;
      CPU_ZERO(&one);
      CPU_SET(last, &one);
      sched_setaffinity(0, sizeof one, &one);
      static volatile bool spin = true;
      while (spin) {
      }
    }
  }
  ~Spinner() {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
};

std::string env_or_unset(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "<unset>";
}

}  // namespace

TEST_CASE("threads_for_load: one thread fewer per busy core, rounded, never under 1") {
  CHECK(threads_for_load(2, 0.0) == 2);
  CHECK(threads_for_load(2, 0.4) == 2);
  CHECK(threads_for_load(2, 0.6) == 1);
  CHECK(threads_for_load(2, 1.0) == 1);
  CHECK(threads_for_load(2, 7.0) == 1);
  CHECK(threads_for_load(8, 2.7) == 5);
  CHECK(threads_for_load(1, 0.0) == 1);
  CHECK(threads_for_load(4, std::nan("")) == 4);
  CHECK(threads_for_load(4, -1.0) == 4);
}

TEST_CASE("a fixed count is obeyed; reset_num_threads returns to the default") {
  // ctest sets OMP_NUM_THREADS=1: that is a fixed count, not the default.
  if (std::getenv("OMP_NUM_THREADS") && *std::getenv("OMP_NUM_THREADS")) {
    CHECK_FALSE(num_threads_follow_load());
    CHECK(get_num_threads() == std::atoi(std::getenv("OMP_NUM_THREADS")));
  }
  const int saved = get_num_threads();
  const bool saved_auto = num_threads_follow_load();
  set_num_threads(3);
  CHECK_FALSE(num_threads_follow_load());
  CHECK(get_num_threads() == 3);
  reset_num_threads();
  CHECK(num_threads_follow_load());
  const int n = get_num_threads();
  CHECK(n >= 1);
  CHECK(n <= CpuLoadSampler::usable_cpus());
  {
    NumThreadsGuard guard(2);
    CHECK(get_num_threads() == 2);  // a guard still wins over the default
  }
  set_num_threads(saved);
  CHECK(get_num_threads() == saved);
  if (saved_auto) reset_num_threads();
}

TEST_CASE("the wait policy is left as the user set it") {
  const std::string policy = env_or_unset("OMP_WAIT_POLICY"), spin = env_or_unset("GOMP_SPINCOUNT");
  reset_num_threads();
  get_num_threads();
  set_num_threads(1);
  CHECK(env_or_unset("OMP_WAIT_POLICY") == policy);
  CHECK(env_or_unset("GOMP_SPINCOUNT") == spin);
}

TEST_CASE("CpuLoadSampler sees a process that keeps a core busy") {
  CpuLoadSampler sampler;
  CHECK_FALSE(sampler.others_busy_cores().has_value());  // no interval yet
  Spinner spinner;
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  sampler.others_busy_cores();
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const std::optional<double> busy = sampler.others_busy_cores();
  REQUIRE(busy.has_value());
  // The spinner holds its CPU unless the machine is so loaded that it gets well under half of it.
  CHECK(*busy >= 0.5);
  CHECK(*busy <= CpuLoadSampler::usable_cpus() + 0.1);
}

TEST_CASE("the default count drops below the CPU count while another process holds a core") {
  const int cpus = CpuLoadSampler::usable_cpus();
  if (cpus < 2) return;  // nothing to drop to
  reset_num_threads();
  {
    Spinner spinner;
    int n = get_num_threads();
    for (int i = 0; i < 150 && n >= cpus; ++i) {  // up to 3 s: a few sampling intervals
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      n = get_num_threads();
    }
    CHECK(n < cpus);
    CHECK(n >= 1);
  }
  set_num_threads(1);
  CHECK(get_num_threads() == 1);
}

// Run in a fresh process (the one below starts it) so that the setting is read from its environment.
TEST_CASE("passive child: under OMP_WAIT_POLICY=passive the default keeps every CPU") {
  if (!std::getenv("CONVGRAD_TEST_PASSIVE_CHILD")) return;
  int lowest = INT_MAX;
  if (num_threads_follow_load()) {
    Spinner spinner;
    for (int i = 0; i < 40; ++i) {  // 0.8 s: three sampling intervals
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      lowest = std::min(lowest, get_num_threads());
    }
  }
  // A distinctive status, so that the parent also knows this case ran.
  std::_Exit(lowest == CpuLoadSampler::usable_cpus() ? 42 : 1);
}

TEST_CASE("OMP_WAIT_POLICY=passive keeps the default at every CPU while a core is busy") {
  if (std::getenv("CONVGRAD_TEST_PASSIVE_CHILD")) return;
  if (CpuLoadSampler::usable_cpus() < 2) return;  // nothing to drop
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    setenv("CONVGRAD_TEST_PASSIVE_CHILD", "1", 1);
    setenv("OMP_WAIT_POLICY", "passive", 1);
    unsetenv("OMP_NUM_THREADS");
    execl("/proc/self/exe", "test_threads_follow_load", "--test-case=passive child*", "--no-intro", nullptr);
    _exit(127);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 42);
}