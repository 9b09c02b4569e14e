// Saving a file (save, save_npy, save_npz, write_png all share one writer): concurrent saves to one path,
// symlinks planted next to it or at it, the mode of the file it replaces, and failures that must leave
// nothing behind.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "core/factory.h"
#include "core/npy.h"

using namespace convgrad;
namespace fs = std::filesystem;

namespace {

// A fresh, empty folder for one test case, removed afterwards.
struct Folder {
  fs::path dir;
  explicit Folder(const std::string& name)
      : dir(fs::temp_directory_path() / ("convgrad_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  ~Folder() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
    return out;
  }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 0777;
}

}  // namespace

TEST_CASE("concurrent saves to one path all succeed and a concurrent reader only sees complete files") {
  Folder f("atomic_concurrent");
  const std::string path = f.file("shared.npy");
  constexpr int kWriters = 4, kSaves = 40;
  constexpr int64_t kSize = 1 << 16;  // 256 KiB per file: a partial file is easy to catch
  save_npy(path, full({kSize}, -1.f));
  std::atomic<int> failures{0}, writers_done{0}, bad_reads{0}, reads{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w)
    threads.emplace_back([&, w] {
      const Tensor mine = full({kSize}, static_cast<float>(w));
      for (int i = 0; i < kSaves; ++i) {
        try {
          save_npy(path, mine);
        } catch (const Error& e) {
          if (failures++ == 0) MESSAGE(std::string(e.what()));
        }
      }
      ++writers_done;
    });
  threads.emplace_back([&] {
    while (writers_done.load() < kWriters) {
      ++reads;
      try {
        Tensor t = load_npy(path);
        // One writer's whole file: every value equal, and one of the values written.
        const float* p = t.data<float>();
        bool whole = t.numel() == kSize && p[0] >= -1.f && p[0] < kWriters;
        for (int64_t i = 1; whole && i < kSize; ++i) whole = p[i] == p[0];
        bad_reads += !whole;
      } catch (const Error&) {
        ++bad_reads;
      }
    }
  });
  for (auto& t : threads) t.join();
  CHECK(failures.load() == 0);
  CHECK(bad_reads.load() == 0);
  MESSAGE(reads.load() << " concurrent reads");
  // Nothing but the final file is left behind.
  CHECK(f.names() == std::vector<std::string>{"shared.npy"});
}

TEST_CASE("a symlink planted at the old predictable temporary name is never written through") {
  Folder f("atomic_symlink_tmp");
  const std::string path = f.file("model.npy"), victim = f.file("victim.txt");
  std::ofstream(victim) << "precious";
  // `<path>.tmp-<pid>` was the temporary name once: a link there must not redirect the save.
  fs::create_symlink(victim, path + ".tmp-" + std::to_string(::getpid()));
  save_npy(path, full({3}, 2.f));
  CHECK(slurp(victim) == "precious");
  CHECK(fs::is_regular_file(fs::symlink_status(path)));
  CHECK(load_npy(path).to_vector() == std::vector<float>{2.f, 2.f, 2.f});
}

TEST_CASE("saving over a symlink replaces the link with a regular file and leaves its target alone") {
  Folder f("atomic_symlink_dest");
  const std::string path = f.file("model.npy"), target = f.file("target.txt");
  std::ofstream(target) << "not a checkpoint";
  fs::create_symlink(target, path);
  save_npy(path, full({2}, 5.f));
  CHECK(fs::is_regular_file(fs::symlink_status(path)));
  CHECK(slurp(target) == "not a checkpoint");
  CHECK(load_npy(path).to_vector() == std::vector<float>{5.f, 5.f});
}

TEST_CASE("re-saving keeps the mode of the file it replaces; a new file gets 0666 minus the umask") {
  Folder f("atomic_mode");
  const std::string path = f.file("secret.npy");
  save_npy(path, zeros({2}));
  const mode_t mask = ::umask(0);  // read the umask (no other thread of this test creates files now)
  ::umask(mask);
  CHECK(mode_of(path) == (0666 & ~mask));
  REQUIRE(::chmod(path.c_str(), 0600) == 0);
  save_npy(path, ones({2}));
  CHECK(mode_of(path) == 0600);
  // A mode the umask would narrow (group/other bits) is kept exactly too.
  REQUIRE(::chmod(path.c_str(), 0664) == 0);
  const mode_t saved = ::umask(077);
  save_npy(path, ones({2}));
  ::umask(saved);
  CHECK(mode_of(path) == 0664);
  CHECK(load_npy(path).to_vector() == std::vector<float>{1.f, 1.f});
}

TEST_CASE("a failed save throws naming the path and leaves no temporary file behind") {
  Folder f("atomic_failure");
  // The destination is a folder: the rename fails after the data was written.
  const std::string dir_dest = f.file("a_folder");
  fs::create_directories(dir_dest);
  fs::create_directories(dir_dest + "/inner");  // not empty, so no system may rename over it
  try {
    save_npy(dir_dest, ones({4}));
    FAIL("expected an Error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("a_folder") != std::string::npos);
  }
  CHECK(f.names() == std::vector<std::string>{"a_folder"});
  // A folder that does not exist: nothing can be created.
  CHECK_THROWS_WITH_AS(save_npy(f.file("missing/x.npy"), ones({1})), doctest::Contains("missing/x.npy"),
                       Error);
  CHECK(f.names() == std::vector<std::string>{"a_folder"});
}
