/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One VM's memory plane against the real splitvm-memsrv: this process is
 * the supervisor, a forked child is the device process that maps what it
 * is handed.  Every backend type is created, handed out, written on one
 * side and read on the other; seals hold in the receiver; delete is refused
 * while in use and frees the backend after release; discard lowers the
 * resident size; state memfds survive a device restart; a requester that
 * dies mid-request does not take memsrv down; shutdown exits 0.
 *
 * usage: test_memsrv_plane PATH-TO-splitvm-memsrv
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fd.h"
#include "log.h"
#include "test_memsrv_client.h"

#define MIB (1ull << 20)

static const struct ipc_chan_opts req_opts = {
	.planes = PROTO_PLANE_MEMORY,
	.recv_timeout_ms = MC_DEADLINE_MS,
	.send_timeout_ms = MC_DEADLINE_MS,
};

/*
 * The device process: maps @fd, checks the supervisor's bytes, writes its
 * own, and for a memfd finds it can neither grow nor shrink it.
 */
static int device_life(int fd, uint64_t size, bool sealed)
{
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return 10;
	if (strcmp(p + size - 64, "from the supervisor") != 0)
		return 11;
	strcpy(p, "from the device");
	if (sealed && (ftruncate(fd, (off_t)size + 4096) == 0 || errno != EPERM))
		return 12;
	if (sealed && (ftruncate(fd, 0) == 0 || errno != EPERM))
		return 13;
	munmap(p, size);
	return 0;
}

static void hand_to_device(struct mc *c, const char *id, uint64_t size, bool sealed)
{
	int fd = mc_acquire(c, id, "dimm0"), status = 0;
	char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	pid_t pid;

	MC_CHECK(p != MAP_FAILED, "mmap %s: %s", id, strerror(errno));
	strcpy(p + size - 64, "from the supervisor");
	pid = fork();
	MC_CHECK(pid >= 0, "fork");
	if (pid == 0)
		_exit(device_life(fd, size, sealed));
	MC_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	         "device process for %s: status 0x%x", id, status);
	MC_CHECK(strcmp(p, "from the device") == 0, "%s: the device's bytes are missing", id);
	munmap(p, size);
	close(fd);
}

/*
 * A requester that sends and dies without reading its answer: this program
 * again (nng cannot be used across fork), as "--requester DIR".
 */
static int requester_life(const char *dir)
{
	Splitvm__BackendList m = SPLITVM__BACKEND_LIST__INIT;
	struct ipc_chan *ch = NULL;
	struct ipc_err err;

	if (ipc_chan_connect(&ch, IPC_ROLE_REQ, dir, "memsrv", &req_opts, &err) < 0 ||
	    ipc_send(ch, NULL, &m.base, &err) < 0)
		return 1;
	/* Let the request leave, then vanish without closing anything. */
	usleep(100000);
	_exit(0);
}

static void requester_dies(struct mc *c, const char *self)
{
	pid_t pid = fork();
	int status;

	MC_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		execl("/proc/self/exe", self, "--requester", c->dir, (char *)NULL);
		_exit(127);
	}
	MC_CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status),
	         "requester: status 0x%x", status);
}

static void check_prealloc_events(struct mc *c)
{
	static const struct ipc_chan_opts sub_opts = { .planes = PROTO_PLANE_EVENT };
	Splitvm__BackendConfig big =
	        mc_config(SPLITVM__BACKEND_TYPE__BACKEND_MEMFD, "big0", (1ull << 30) + 64 * MIB);
	struct ipc_chan *sub = NULL;
	struct ipc_msg *ev = NULL;
	struct ipc_err err = { 0 };
	unsigned last = 0, events = 0;

	MC_CHECK(ipc_chan_connect(&sub, IPC_ROLE_SUB, c->dir, "memsrv-events", &sub_opts, &err) ==
	                 0,
	         "subscribe: %s", err.text);
	/* A SUB socket hears nothing sent before it is connected: give it time. */
	usleep(200000);
	big.prealloc = true;
	big.prealloc_threads = 2;
	ipc_msg_free(mc_create(c, &big));
	while (ipc_recv(sub, 1000, &ev, &err) == 0) {
		const Splitvm__Event *e = (const void *)ev->body;

		MC_CHECK(e->kind_case == SPLITVM__EVENT__KIND_PREALLOC_PROGRESS &&
		                 strcmp(e->prealloc_progress->backend, "big0") == 0 &&
		                 e->prealloc_progress->percent > last && e->timestamp_ns,
		         "event %u: kind %d percent %u after %u", events, e->kind_case,
		         e->kind_case == SPLITVM__EVENT__KIND_PREALLOC_PROGRESS
		                 ? e->prealloc_progress->percent
		                 : 0,
		         last);
		last = e->prealloc_progress->percent;
		events++;
		ipc_msg_free(ev);
		if (last == 100)
			break;
	}
	MC_CHECK(events >= 1 && last == 100, "%u progress events, last %u%%", events, last);
	ipc_chan_destroy(sub);
	mc_delete(c, "big0");
}

int main(int argc, char **argv)
{
	Splitvm__BackendConfig ram, memfd, file, dup, zero;
	Splitvm__BackendCreate create = SPLITVM__BACKEND_CREATE__INIT;
	Splitvm__BackendDelete del = SPLITVM__BACKEND_DELETE__INIT;
	Splitvm__BackendDiscard disc = SPLITVM__BACKEND_DISCARD__INIT;
	Splitvm__StateDelete sdel = SPLITVM__STATE_DELETE__INIT;
	Splitvm__MemsrvShutdown bye = SPLITVM__MEMSRV_SHUTDOWN__INIT;
	const Splitvm__BackendInfo *info;
	struct ipc_msg *reply;
	struct stat st1, st2;
	char path[128], buf[16];
	struct mc c;
	int fd, fd2;

	if (argc == 3 && strcmp(argv[1], "--requester") == 0)
		return requester_life(argv[2]);
	MC_CHECK(argc == 2, "usage: %s PATH-TO-splitvm-memsrv", argv[0]);
	log_init("test/memsrv_plane");
	signal(SIGPIPE, SIG_IGN);
	mc_start(&c, argv[1], true);

	/* Each type, created. */
	ram = mc_config(SPLITVM__BACKEND_TYPE__BACKEND_RAM, "mem0", 64 * MIB);
	ram.base_ram = true;
	reply = mc_create(&c, &ram);
	info = (const void *)reply->body;
	MC_CHECK(info->size == 64 * MIB && info->sealed && info->resident == 0 && !info->fd_tag,
	         "mem0 info: size %llu sealed %d resident %llu", (unsigned long long)info->size,
	         info->sealed, (unsigned long long)info->resident);
	MC_CHECK(info->config && info->config->base_ram, "mem0: config not echoed");
	ipc_msg_free(reply);

	memfd = mc_config(SPLITVM__BACKEND_TYPE__BACKEND_MEMFD, "mem1", 32 * MIB);
	memfd.prealloc = true;
	memfd.prealloc_threads = 2;
	reply = mc_create(&c, &memfd);
	info = (const void *)reply->body;
	MC_CHECK(info->resident == 32 * MIB, "mem1 resident %llu",
	         (unsigned long long)info->resident);
	ipc_msg_free(reply);

	snprintf(path, sizeof(path), "%s/pmem0.img", c.dir);
	file = mc_config(SPLITVM__BACKEND_TYPE__BACKEND_FILE, "pm0", 4 * MIB);
	file.mem_path = path;
	file.share = true;
	file.pmem = true;
	ipc_msg_free(mc_create(&c, &file));

	/* Refusals travel back with their field. */
	dup = mc_config(SPLITVM__BACKEND_TYPE__BACKEND_RAM, "mem0", MIB);
	create.config = &dup;
	mc_call_fails(&c, &create.base, SPLITVM__ERROR_CODE__ERR_ALREADY_EXISTS, "id",
	              "duplicate id 'mem0'");
	zero = mc_config(SPLITVM__BACKEND_TYPE__BACKEND_RAM, "mem9", 0);
	create.config = &zero;
	mc_call_fails(&c, &create.base, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "size",
	              "doesn't take value '0'");

	/* Handed to a second process, written and read on both sides. */
	hand_to_device(&c, "mem0", 64 * MIB, true);
	hand_to_device(&c, "mem1", 32 * MIB, true);
	hand_to_device(&c, "pm0", 4 * MIB, false);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	MC_CHECK(fd >= 0 && pread(fd, buf, 15, 0) == 15 && memcmp(buf, "from the device", 15) == 0,
	         "pm0: the device's bytes are not in the file");
	close(fd);

	/* In use: refused, in QEMU's words; after release: gone. */
	del.id = (char *)"mem0";
	mc_call_fails(&c, &del.base, SPLITVM__ERROR_CODE__ERR_IN_USE, "id",
	              "object 'mem0' is in use, can not be deleted (used by dimm0)");
	mc_release(&c, "mem0", "dimm0");
	mc_delete(&c, "mem0");
	mc_call_fails(&c, &del.base, SPLITVM__ERROR_CODE__ERR_NOT_FOUND, "id",
	              "object 'mem0' not found");

	/* Discard: the resident size falls by what was punched. */
	disc.id = (char *)"mem1";
	disc.offset = 8 * MIB;
	disc.length = 8 * MIB;
	ipc_msg_free(mc_call(&c, &disc.base));
	disc.offset = 30 * MIB;
	disc.length = 4 * MIB;
	mc_call_fails(&c, &disc.base, SPLITVM__ERROR_CODE__ERR_INVALID_ARGUMENT, "length",
	              "runs past its size");
	reply = mc_list(&c);
	MC_CHECK(((const Splitvm__BackendListReply *)reply->body)->n_backends == 2, "list size");
	info = mc_find(reply, "mem1");
	MC_CHECK(info && info->resident == 24 * MIB && info->n_users == 1 &&
	                 strcmp(info->users[0], "dimm0") == 0,
	         "mem1 after discard");
	ipc_msg_free(reply);

	/* A state memfd outlives its device process: same file, same bytes. */
	fd = mc_state(&c, "vm0", 4096);
	MC_CHECK(pwrite(fd, "journal", 7, 0) == 7, "state write");
	fd2 = mc_state(&c, "vm0", 4096);
	MC_CHECK(fstat(fd, &st1) == 0 && fstat(fd2, &st2) == 0 && st1.st_ino == st2.st_ino,
	         "state memfd changed across a restart");
	memset(buf, 0, sizeof(buf));
	MC_CHECK(pread(fd2, buf, 7, 0) == 7 && strcmp(buf, "journal") == 0, "state lost");
	MC_CHECK(ftruncate(fd2, 8192) < 0 && errno == EPERM, "state memfd not sealed");
	close(fd);
	close(fd2);
	sdel.device = (char *)"vm0";
	ipc_msg_free(mc_call(&c, &sdel.base));

	/* Prealloc above 1 GiB reports its progress as events. */
	check_prealloc_events(&c);

	/* A peer dying mid-request costs memsrv nothing. */
	requester_dies(&c, argv[0]);
	reply = mc_list(&c);
	ipc_msg_free(reply);

	ipc_msg_free(mc_call(&c, &bye.base));
	MC_CHECK(mc_wait(&c) == 0, "memsrv did not exit 0:\n%s", c.log);
	MC_CHECK(strstr(c.log, "handed backend mem0 (64M) to dimm0"), "no hand-out line:\n%s",
	         c.log);
	MC_CHECK(strstr(c.log, "handed backend pm0 (4M) to dimm0"), "no hand-out line");
	MC_CHECK(strstr(c.log, "released every backend"), "no release at exit");
	mc_cleanup(&c);
	printf("memsrv's log:\n%s\nmemsrv plane: ok\n", c.log);
	return 0;
}
