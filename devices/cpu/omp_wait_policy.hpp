#pragma once
// How long libgomp (the OpenMP runtime of Debian's oneDNN) spins at a barrier
// before sleeping. By default a waiting thread spins GOMP_SPINCOUNT = 300,000
// pause instructions (~15-20 ms on a recent Xeon) unless libgomp manages more
// threads than there are CPUs; then it spins briefly and sleeps. A stream of
// T > 1 threads hits a barrier after every primitive: when another process
// holds one of its cores, its threads spin through their time slices waiting
// for a partner that cannot run (resnet50, 1 stream x 2 threads, at load 5:
// 440 ms p50 instead of 60 ms). Nothing in libgomp changes the spin count once
// the process runs, so the CPU device keeps libgomp in its short-spin regime.
namespace autosched::cpu {

// Once per process, unless OMP_WAIT_POLICY or GOMP_SPINCOUNT is set (the
// user's choice stands): parks one idle OpenMP team of (CPUs + 1) threads on a
// thread of its own for the life of the process, so that libgomp always
// manages more threads than CPUs. The team's threads sleep; they cost no CPU.
// Thread-safe; returns at once after the first call. Returns whether the team
// is parked (false: the user's wait policy stands).
bool bound_openmp_spin_waits();

}  // namespace autosched::cpu
