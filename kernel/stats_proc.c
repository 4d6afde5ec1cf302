/*
 * /proc and clock helpers of the stats segment (kernel/stats_proc.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "kernel/kernel.h"
#include "kernel/stats_proc.h"

/* How long the cycle counter is timed against the clock: 2 ms puts the
 * rate within 0.01% (the clock reads take tens of ns). */
#define CALIBRATE_NS 2000000ull

static ssize_t
read_small(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

uint64_t
gnet__proc_start(int pid)
{
	char path[64], buf[1024], *p;
	int field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	/* The command name may hold blanks and parentheses: fields are
	 * counted from the last ')', which ends it (field 2). */
	p = strrchr(buf, ')');
	if (p == NULL)
		return 0;
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	return p != NULL ? strtoull(p + 1, NULL, 10) : 0;
}

bool
gnet__proc_alive(int pid, uint64_t start)
{
	uint64_t now;

	if (pid <= 0 || (kill(pid, 0) != 0 && errno == ESRCH))
		return false;
	if (start == 0)
		return true;
	now = gnet__proc_start(pid);
	return now == 0 || now == start;
}

uint64_t
gnet__thread_cpu_ns(int pid, int tid)
{
	char path[80], buf[128];

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return 0;
	return strtoull(buf, NULL, 10);
}

static struct {
	uint64_t cycles, ns, per_ms;
} calibration;
static pthread_once_t calibrated = PTHREAD_ONCE_INIT;

static void
calibrate(void)
{
	uint64_t c0 = gnet__cycles(), n0 = gnet__now_ns(), c1, n1;

	if (GNET__CYCLES_ARE_NS) {
		calibration.per_ms = GNET__NS_PER_MS;
	} else {
		do {
			n1 = gnet__now_ns();
			c1 = gnet__cycles();
		} while (n1 - n0 < CALIBRATE_NS);
		calibration.per_ms = (c1 - c0) * GNET__NS_PER_MS / (n1 - n0);
		if (calibration.per_ms == 0)
			calibration.per_ms = 1;
	}
	calibration.cycles = c0;
	calibration.ns = n0;
}

void
gnet__cycles_calibrate(uint64_t *cycles, uint64_t *ns, uint64_t *per_ms)
{
	pthread_once(&calibrated, calibrate);
	*cycles = calibration.cycles;
	*ns = calibration.ns;
	*per_ms = calibration.per_ms;
}
