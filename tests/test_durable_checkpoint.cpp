// Durable checkpoints: a process killed with SIGKILL in the middle of save() never damages the
// previous checkpoint, and the final name never holds a partial file.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "core/factory.h"
#include "core/npy.h"
#include "layers/checkpoint.h"
#include "layers/module.h"

using namespace convgrad;
namespace fs = std::filesystem;

namespace {

constexpr int64_t kBig = int64_t{8} << 20;  // 8 Mi floats: a 32 MiB checkpoint

// A model whose checkpoint is large: one big parameter plus a small one, every value `fill`.
class BigModel : public Module {
 public:
  explicit BigModel(float fill) {
    big = register_parameter("big", full({kBig}, fill));
    small = register_parameter("small", full({3, 4}, fill));
  }
  std::string name() const override { return "BigModel"; }
  Tensor big, small;
};

// Every value of the model equal to `fill`.
bool holds(const BigModel& m, float fill) {
  const float* p = m.big.data<float>();
  for (int64_t i = 0; i < kBig; ++i)
    if (p[i] != fill) return false;
  for (float v : m.small.to_vector())
    if (v != fill) return false;
  return true;
}

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path());
  return out;
}

struct KillResult {
  bool killed_mid_write = false;  // the temporary file existed and was shorter than the full checkpoint
  bool child_finished = false;    // the child completed save() before the kill landed
};

// Forks a child that saves BigModel(2) over `path`, waits until its temporary file appears, then SIGKILLs it.
KillResult kill_during_save(const fs::path& path, uintmax_t full_size) {
  pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {  // the child: build, save, exit without running any test machinery
    try {
      BigModel m(2.f);
      save(m, path.string());
    } catch (...) {
      ::_exit(1);
    }
    ::_exit(0);
  }
  // The child's temporary file is `<path>.tmp-<pid>-<random suffix>`.
  const std::string prefix = path.filename().string() + ".tmp-" + std::to_string(pid) + "-";
  auto find_tmp = [&] {
    for (const fs::path& f : files_in(path.parent_path()))
      if (f.filename().string().rfind(prefix, 0) == 0) return f;
    return fs::path();
  };
  KillResult r;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    std::error_code ec;
    const fs::path tmp = find_tmp();
    uintmax_t size = tmp.empty() ? 0 : fs::file_size(tmp, ec);
    if (!ec && size > 0) {  // the child is writing (or, if it was very fast, already syncing)
      ::kill(pid, SIGKILL);
      r.killed_mid_write = size < full_size;
      break;
    }
    if (::waitpid(pid, &status, WNOHANG) == pid) {  // finished before we saw its temporary file
      r.child_finished = true;
      return r;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  r.child_finished = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (r.child_finished) r.killed_mid_write = false;
  return r;
}

}  // namespace

TEST_CASE("SIGKILL during save leaves the previous checkpoint intact and no partial file under its name") {
  fs::path dir = fs::temp_directory_path() / ("convgrad_durable_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const fs::path path = dir / "model.npz";
  {
    BigModel previous(1.f);
    save(previous, path.string());
  }
  const uintmax_t full_size = fs::file_size(path);
  CHECK(full_size > uintmax_t(kBig) * 4);

  int mid_write_kills = 0;
  for (int attempt = 0; attempt < 8 && mid_write_kills < 2; ++attempt) {
    CAPTURE(attempt);
    KillResult r = kill_during_save(path, full_size);
    mid_write_kills += r.killed_mid_write;
    // The final name holds a complete checkpoint: the previous one, or the child's if it finished.
    BigModel loaded(0.f);
    REQUIRE_NOTHROW(load(loaded, path.string()));
    CHECK(fs::file_size(path) == full_size);
    if (r.child_finished) {
      CHECK(holds(loaded, 2.f));
      BigModel restore(1.f);  // put the previous checkpoint back for the next attempt
      save(restore, path.string());
    } else {
      CHECK(holds(loaded, 1.f));
    }
    // What a killed save leaves is only its own temporary file, never under the final name; it is
    // partial, and loading it fails cleanly instead of returning garbage.
    for (const fs::path& f : files_in(dir)) {
      if (f == path) continue;
      CHECK(f.filename().string().rfind("model.npz.tmp-", 0) == 0);
      if (r.killed_mid_write) CHECK_THROWS_AS(load_npz(f.string()), Error);
      fs::remove(f);
    }
  }
  MESSAGE(mid_write_kills << " save(s) killed while writing the temporary file");
  CHECK_MESSAGE(mid_write_kills >= 1, "no attempt managed to kill the child while it was writing");

  // A normal save replaces the file and leaves nothing else behind.
  {
    BigModel next(3.f);
    save(next, path.string());
  }
  CHECK(files_in(dir) == std::vector<fs::path>{path});
  BigModel loaded(0.f);
  load(loaded, path.string());
  CHECK(holds(loaded, 3.f));
  fs::remove_all(dir);
}
