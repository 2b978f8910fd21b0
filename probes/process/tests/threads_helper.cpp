// ct-threads: a process of 8 threads whose leader exits last, for the end-to-end test of
// multi-threaded exit records. The last thread of a group to exit makes the kernel send the
// largest taskstats record there is (the task's and the whole group's statistics in one
// datagram); the leader joining the others first makes that record the one naming the process.
#include <pthread.h>

#include <array>

namespace {

void* work(void*) {
  return nullptr;
}

}  // namespace

int main() {
  std::array<pthread_t, 7> threads{};
  for (auto& t : threads) {
    if (pthread_create(&t, nullptr, work, nullptr) != 0) return 1;
  }
  for (auto& t : threads) pthread_join(t, nullptr);
  return 0;
}
