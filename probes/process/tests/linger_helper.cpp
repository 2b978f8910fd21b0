// ct-linger: a process that keeps whatever argv it was given and lives until it is killed, so a
// ledger test can have its exec context read however loaded the machine is.
#include <unistd.h>

int main() {
  while (true) pause();
}
