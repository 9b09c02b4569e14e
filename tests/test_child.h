// Running one test case of the current test executable in a child process, with an environment of the
// test's choosing (variables read once at start-up can only be tested so), and checking that the child
// ran exactly that one case: a filter that matches nothing (a renamed case) also exits 0.
#pragma once

#include <doctest/doctest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

extern char** environ;

namespace convgrad::testing {

struct Child {
  int status = -1;
  std::string output;  ///< stdout and stderr together
};

/// Runs this test executable again with `--test-case=<filter>` and exactly the environment `env` (plus
/// the sanitizers' ASAN_ / UBSAN_ settings), collecting what it prints.
inline Child run_child(const std::string& filter, std::vector<std::string> env) {
  std::string self = "/proc/self/exe", arg = "--test-case=" + filter;
  std::vector<char*> argv{self.data(), arg.data(), nullptr}, envp;
  for (char** e = environ; *e; ++e)
    if (std::string(*e).rfind("ASAN_", 0) == 0 || std::string(*e).rfind("UBSAN_", 0) == 0) env.push_back(*e);
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  char path[] = "/tmp/convgrad_test_child_XXXXXX";
  const int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fd, STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fd, STDERR_FILENO);
  pid_t pid = 0;
  const int spawned = posix_spawn(&pid, self.c_str(), &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(fd);
  Child c;
  if (spawned == 0) REQUIRE(waitpid(pid, &c.status, 0) == pid);
  std::ifstream in(path);
  c.output.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::remove(path);
  REQUIRE(spawned == 0);
  return c;
}

/// The child exited 0 after running exactly one test case, which passed.
inline void check_one_case_passed(const Child& c) {
  INFO("child output:\n" << c.output);
  CHECK(WIFEXITED(c.status));
  CHECK(WEXITSTATUS(c.status) == 0);
  CHECK(std::regex_search(c.output, std::regex(R"(test cases:\s+1\s+\|\s+1 passed\s+\|\s+0 failed)")));
}

}  // namespace convgrad::testing
