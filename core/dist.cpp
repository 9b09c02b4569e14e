// Collectives over Open MPI; without CONVGRAD_WITH_MPI a world of one process.
#include "core/dist.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include "core/error.h"

#ifdef CONVGRAD_WITH_MPI
#include <mpi.h>
#endif

namespace convgrad::dist {

namespace {

bool started = false;
double timeout_seconds = 300.0;

// A collective only touches contiguous float32 data, the same number of elements on every rank.
float* checked_data(const Tensor& t, const char* op) {
  CONVGRAD_CHECK(t.defined(), "dist::{}: the tensor is undefined", op);
  CONVGRAD_CHECK(t.dtype() == DType::Float32 && t.is_contiguous(),
                 "dist::{}: needs a contiguous float32 tensor, got {} of shape {}; pass contiguous() of it",
                 op, dtype_name(t.dtype()), shape_str(t.shape()));
  return t.data<float>();
}

#ifdef CONVGRAD_WITH_MPI
// Polls `request` until it completes or timeout() passes; the latter aborts the job, since the other
// ranks are then dead or stuck and no later collective could match theirs.
void wait_request(MPI_Request& request, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_seconds);
  int done = 0;
  for (int spins = 0;; ++spins) {
    MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (done) return;
    if (std::chrono::steady_clock::now() > deadline)
      abort(
          fmt::format("{} waited more than {} s for the other ranks (one failed or hangs); aborting the job "
                      "(CONVGRAD_DIST_TIMEOUT sets the limit)",
                      what, timeout_seconds));
    // Spin briefly for the short waits of a training step, then yield the core to the other ranks.
    if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void terminate_handler() {
  std::string why = "terminated";
  if (auto e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      why = std::string("uncaught exception: ") + ex.what();
    } catch (...) {
      why = "uncaught exception of unknown type";
    }
  }
  abort(why);
}
#endif

}  // namespace

bool available() {
#ifdef CONVGRAD_WITH_MPI
  return true;
#else
  return false;
#endif
}

bool launched() {
  return std::getenv("OMPI_COMM_WORLD_SIZE") || std::getenv("PMI_SIZE") || std::getenv("PMIX_RANK");
}

void init() {
  if (started) return;
  if (const char* env = std::getenv("CONVGRAD_DIST_TIMEOUT")) set_timeout(std::atof(env));
#ifdef CONVGRAD_WITH_MPI
  int already = 0;
  MPI_Initialized(&already);
  if (!already) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
    CONVGRAD_CHECK(
        provided >= MPI_THREAD_SERIALIZED,
        "dist::init: the MPI library gives thread level {}, convgrad needs MPI_THREAD_SERIALIZED ({}); build "
        "Open MPI with thread support",
        provided, static_cast<int>(MPI_THREAD_SERIALIZED));
  }
  std::set_terminate(terminate_handler);
#else
  // Several copies of a single-process program would each train alone and race on the same files.
  const char* size = std::getenv("OMPI_COMM_WORLD_SIZE");
  if (!size) size = std::getenv("PMI_SIZE");
  CONVGRAD_CHECK(!size || std::atoi(size) <= 1,
                 "dist::init: launched as one of {} processes, but convgrad was built without MPI "
                 "(CONVGRAD_WITH_MPI=OFF); install libopenmpi-dev and reconfigure, or run a single process",
                 size ? size : "1");
#endif
  started = true;
}

void finalize() {
  if (!started) return;
  started = false;
#ifdef CONVGRAD_WITH_MPI
  int done = 0;
  MPI_Finalized(&done);
  if (!done) MPI_Finalize();
#endif
}

bool is_initialized() { return started; }

int rank() {
  int r = 0;
#ifdef CONVGRAD_WITH_MPI
  if (started) MPI_Comm_rank(MPI_COMM_WORLD, &r);
#endif
  return r;
}

int world_size() {
  int n = 1;
#ifdef CONVGRAD_WITH_MPI
  if (started) MPI_Comm_size(MPI_COMM_WORLD, &n);
#endif
  return n;
}

void set_timeout(double seconds) {
  CONVGRAD_CHECK(seconds > 0, "dist::set_timeout: {} s; the timeout must be positive", seconds);
  timeout_seconds = seconds;
}

double timeout() { return timeout_seconds; }

void barrier() {
#ifdef CONVGRAD_WITH_MPI
  if (!started || world_size() == 1) return;
  MPI_Request request;
  MPI_Ibarrier(MPI_COMM_WORLD, &request);
  wait_request(request, "dist::barrier");
#endif
}

void broadcast(const Tensor& tensor, int root) {
  CONVGRAD_CHECK(tensor.defined() && tensor.is_contiguous(),
                 "dist::broadcast: needs a defined contiguous tensor; pass contiguous() of it");
  void* data = tensor.dtype() == DType::Float32 ? static_cast<void*>(tensor.data<float>())
                                                : static_cast<void*>(tensor.data<int64_t>());
  CONVGRAD_CHECK(root >= 0 && root < world_size(), "dist::broadcast: root {} is not a rank of a world of {}",
                 root, world_size());
#ifdef CONVGRAD_WITH_MPI
  if (!started || world_size() == 1) return;
  CONVGRAD_CHECK(tensor.numel() < (int64_t{1} << 31),
                 "dist::broadcast: {} elements; at most 2^31 - 1 per call", tensor.numel());
  MPI_Request request;
  MPI_Ibcast(data, static_cast<int>(tensor.numel()),
             tensor.dtype() == DType::Float32 ? MPI_FLOAT : MPI_INT64_T, root, MPI_COMM_WORLD, &request);
  wait_request(request, "dist::broadcast");
  if (rank() != root) tensor.bump_version("dist::broadcast");
#else
  (void)data;
#endif
}

void all_reduce(const Tensor& tensor, ReduceOp op) {
  float* data = checked_data(tensor, "all_reduce");
  if (world_size() == 1) return;
  all_reduce_sum_async(data, tensor.numel(), "dist::all_reduce").wait();
  if (op == ReduceOp::Mean) {
    const float scale = 1.0f / static_cast<float>(world_size());
    for (int64_t i = 0; i < tensor.numel(); ++i) data[i] *= scale;
  }
  tensor.bump_version("dist::all_reduce");
}

struct Work::State {
#ifdef CONVGRAD_WITH_MPI
  MPI_Request request = MPI_REQUEST_NULL;
#endif
  const char* what = "";
};

Work::Work() = default;
Work::~Work() {
  if (state_ && !std::uncaught_exceptions()) wait();
}
Work::Work(Work&&) noexcept = default;
Work& Work::operator=(Work&& other) noexcept {
  if (this != &other) {
    if (state_) wait();
    state_ = std::move(other.state_);
  }
  return *this;
}

void Work::wait() {
  if (!state_) return;
#ifdef CONVGRAD_WITH_MPI
  wait_request(state_->request, state_->what);
#endif
  state_.reset();
}

bool Work::test() {
  if (!state_) return true;
#ifdef CONVGRAD_WITH_MPI
  int done = 0;
  MPI_Test(&state_->request, &done, MPI_STATUS_IGNORE);
  if (!done) return false;
#endif
  state_.reset();
  return true;
}

Work all_reduce_sum_async(float* data, int64_t count, const char* what) {
  Work work;
#ifdef CONVGRAD_WITH_MPI
  if (!started || world_size() == 1) return work;
  CONVGRAD_CHECK(count < (int64_t{1} << 31), "{}: {} elements; at most 2^31 - 1 per call", what, count);
  work.state_ = std::make_unique<Work::State>();
  work.state_->what = what;
  MPI_Iallreduce(MPI_IN_PLACE, data, static_cast<int>(count), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                 &work.state_->request);
#else
  (void)data, (void)count, (void)what;
#endif
  return work;
}

void abort(const std::string& why) {
  std::fprintf(stderr, "convgrad dist: rank %d of %d: %s\n", rank(), world_size(), why.c_str());
  std::fflush(stderr);
#ifdef CONVGRAD_WITH_MPI
  if (started) MPI_Abort(MPI_COMM_WORLD, 1);
#endif
  std::_Exit(1);
}

Context::~Context() {
  if (std::uncaught_exceptions() > 0)
    abort(
        "left dist::Context by an exception while the other ranks may wait in a collective; aborting the "
        "job");
  finalize();
}

}  // namespace convgrad::dist
