// Whole-file reads and atomic whole-file writes, shared by the .npy, .npz, image and checkpoint writers.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <random>
#include <thread>

#include "core/error.h"
#include "core/npy_internal.h"

namespace convgrad::detail {

namespace {

// A name no other call of this process (any thread) or of another process will pick: the pid, a
// process-wide counter, and random bits so that the name cannot be planted in advance. O_EXCL makes a
// collision an EEXIST (and a retry), never a shared file.
std::string temporary_name(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = [] {
    std::random_device rd;
    return (uint64_t{rd()} << 32) ^ rd();
  }();
  uint64_t mix = salt ^ (counter.fetch_add(1) * 0x9e3779b97f4a7c15ull) ^
                 std::hash<std::thread::id>{}(std::this_thread::get_id());
  mix ^= mix >> 31;
  mix *= 0xbf58476d1ce4e5b9ull;
  mix ^= mix >> 29;
  return fmt::format("{}.tmp-{}-{:016x}", path, static_cast<long>(::getpid()), mix);
}

// The temporary file of one write: closed and removed by the destructor unless committed, so every
// failure path (an error return or an exception) leaves nothing behind.
struct TemporaryFile {
  std::string name;
  int fd = -1;
  bool committed = false;
  TemporaryFile() = default;
  TemporaryFile(const TemporaryFile&) = delete;
  TemporaryFile& operator=(const TemporaryFile&) = delete;
  ~TemporaryFile() {
    if (fd >= 0) ::close(fd);
    if (!committed && !name.empty()) ::unlink(name.c_str());
  }
};

}  // namespace

std::string read_file(const std::string& path, const char* op) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) fail("{}: cannot open '{}': {}", op, path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    fail("{}: '{}' is not a regular file", op, path);
  }
  // The size comes from the file system, not from the file's content, so it is safe to allocate.
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      fail("{}: error reading '{}' after {} of {} bytes: {}", op, path, done, bytes.size(),
           n == 0 ? "the file shrank while being read" : std::strerror(err));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return bytes;
}

void write_file_atomic(const std::string& path, std::string_view bytes, const char* op) {
  // A regular file being replaced keeps its permission bits; anything else (nothing, or a symlink, which
  // the rename replaces rather than follows) gets the usual 0666 & ~umask. The temporary file is created
  // no more permissive than the final mode, so nobody can open it in between who could not open the result.
  struct stat old {};
  const bool replaces_file = ::lstat(path.c_str(), &old) == 0 && S_ISREG(old.st_mode);
  const mode_t keep_mode = replaces_file ? (old.st_mode & 0777) : 0;
  TemporaryFile tmp;
  for (int attempt = 0; tmp.fd < 0; ++attempt) {
    tmp.name = temporary_name(path);
    tmp.fd = ::open(tmp.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    replaces_file ? keep_mode : 0666);
    if (tmp.fd < 0 && (errno != EEXIST || attempt == 100)) {
      int err = errno;
      tmp.name.clear();  // not ours: never remove it
      fail("{}: cannot create a temporary file next to '{}': {} ('{}' is unchanged)", op, path,
           std::strerror(err), path);
    }
  }
  auto give_up = [&](const char* step) {
    fail("{}: {} '{}' failed: {} ('{}' is unchanged)", op, step, tmp.name, std::strerror(errno), path);
  };
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(tmp.fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) give_up("writing");
    done += static_cast<size_t>(n);
  }
  // The umask may have cleared bits of the kept mode at creation; set them back exactly.
  if (replaces_file && ::fchmod(tmp.fd, keep_mode) != 0) give_up("setting the mode of");
  if (::fsync(tmp.fd) != 0) give_up("fsync of");
  int fd = tmp.fd;
  tmp.fd = -1;
  if (::close(fd) != 0) give_up("closing");
  if (::rename(tmp.name.c_str(), path.c_str()) != 0)
    fail("{}: renaming '{}' to '{}' failed: {} ('{}' is unchanged)", op, tmp.name, path, std::strerror(errno),
         path);
  tmp.committed = true;
  // Make the rename itself durable. The new file is complete under its name either way, so a folder that
  // cannot be synced (some file systems refuse) is not an error.
  size_t slash = path.find_last_of('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace convgrad::detail
