// Collective communication between the processes of one training job (data parallelism), over Open MPI.
// Every process (a "rank") runs the same program; collectives must be called by every rank in the same
// order. Built without MPI (CONVGRAD_WITH_MPI off), or before init(), the job is one process: rank 0 of
// a world of 1, where every collective leaves its tensor as it is.
#pragma once

#include <memory>
#include <string>

#include "core/tensor.h"

namespace convgrad::dist {

/// How all_reduce combines the ranks' tensors.
enum class ReduceOp { Sum, Mean };

/// True when convgrad was built with MPI (CONVGRAD_WITH_MPI).
bool available();
/// True when this process was started by mpirun/mpiexec (Open MPI's OMPI_COMM_WORLD_SIZE or a PMI/PMIx
/// launcher's variables are set): programs call init() then, and stay single-process otherwise.
bool launched();
/// Starts MPI (MPI_Init_thread, serialized) once per process; later calls do nothing. Installs a
/// terminate handler that prints the uncaught exception with the rank and calls MPI_Abort, so a rank that
/// throws ends the whole job instead of leaving the others waiting in a collective. Without MPI it only
/// marks the single-process world as started, and refuses (Error) a launch of several processes.
void init();
/// Ends MPI after a barrier-free MPI_Finalize (every rank must call it); nothing when not started.
void finalize();
/// Whether init() ran and finalize() did not.
bool is_initialized();
/// This process's index in [0, world_size()); 0 before init().
int rank();
/// Number of processes in the job; 1 before init().
int world_size();
/// Waits until every rank has reached it.
void barrier();
/// Copies `tensor` (contiguous float32) from rank `root` into every other rank's tensor of the same
/// shape, in place.
void broadcast(const Tensor& tensor, int root = 0);
/// Combines `tensor` (contiguous float32, one shape on every rank) across ranks in place: the element-wise
/// sum, or the sum divided by world_size() for Mean.
void all_reduce(const Tensor& tensor, ReduceOp op = ReduceOp::Sum);

/// The longest a blocking collective (and Work::wait) waits for the other ranks before it gives up and
/// aborts the job with an error naming the collective (default 300 s; the CONVGRAD_DIST_TIMEOUT environment
/// variable, in seconds, sets it at init()). A rank that died or hangs thus ends the job in bounded time.
void set_timeout(double seconds);
double timeout();

/// A collective started without waiting for it (MPI_Iallreduce); wait() blocks until it completed (within
/// timeout()). Destroying a Work that was not waited for waits for it.
class Work {
 public:
  Work();
  ~Work();
  Work(Work&&) noexcept;
  Work& operator=(Work&&) noexcept;
  /// Blocks until the collective completed on this rank; does nothing when there is none or it was waited
  /// for.
  void wait();
  /// Whether the collective completed, without blocking. Open MPI moves a non-blocking collective
  /// forward only inside MPI calls (it has no progress thread by default), so calling test() now and
  /// then lets it advance while the caller computes.
  bool test();
  struct State;

 private:
  friend Work all_reduce_sum_async(float* data, int64_t count, const char* what);
  std::unique_ptr<State> state_;
};

/// Starts summing `count` floats at `data` across ranks in place; `what` names it in errors. The buffer
/// must stay alive and untouched until the Work is waited for.
Work all_reduce_sum_async(float* data, int64_t count, const char* what);

/// Prints "convgrad dist: rank R: <why>" to stderr and ends every rank of the job (MPI_Abort with code 1);
/// without MPI, std::exit(1).
[[noreturn]] void abort(const std::string& why);

/// init() for the lifetime of a scope, finalize() at its end. When the scope is left by an exception (a
/// rank failed while the others may wait in a collective), it aborts the job with that exception's message
/// instead of finalizing.
class Context {
 public:
  Context() { init(); }
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
};

}  // namespace convgrad::dist
