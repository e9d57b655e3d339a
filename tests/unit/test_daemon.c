/*
 * test_daemon - inet socket specs, TCP_NODELAY
 */
#include <autoconfig.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "daemon.h"

/* listener - a TCP socket listening on 127.0.0.1, any port; *port_r */
static int
listener(unsigned *port_r)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*port_r = ntohs(sin.sin_port);
	return fd;
}

/* connect_to - a client connected to 127.0.0.1:port */
static int
connect_to(unsigned port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	assert_int_equal(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	return fd;
}

/* nodelay_of - TCP_NODELAY of a socket: 0 or 1 */
static int
nodelay_of(int fd)
{
	socklen_t len;
	int on = -1;

	len = sizeof(on);
	assert_int_equal(
	    getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
	return on != 0;
}

static void
test_inet_spec(void **state)
{
	unsigned port = 0;
	int family = 0;

	assert_int_equal(
	    pfl_daemon_inet_spec("inet:8891@127.0.0.1", &family, &port), 0);
	assert_int_equal(family, AF_INET);
	assert_int_equal(port, 8891);
	assert_int_equal(
	    pfl_daemon_inet_spec("inet6:10025@[::1]", &family, &port), 0);
	assert_int_equal(family, AF_INET6);
	assert_int_equal(port, 10025);
	assert_int_equal(pfl_daemon_inet_spec("inet:12345", &family, &port), 0);
	assert_int_equal(port, 12345);
	assert_int_equal(
	    pfl_daemon_inet_spec("unix:/run/x.sock", &family, &port), -1);
	assert_int_equal(
	    pfl_daemon_inet_spec("local:/run/x.sock", &family, &port), -1);
	assert_int_equal(
	    pfl_daemon_inet_spec("/run/x.sock", &family, &port), -1);
	assert_int_equal(
	    pfl_daemon_inet_spec("inet:@host", &family, &port), -1);
	assert_int_equal(
	    pfl_daemon_inet_spec("inet:0@host", &family, &port), -1);
	assert_int_equal(
	    pfl_daemon_inet_spec("inet:65536@host", &family, &port), -1);
	assert_int_equal(
	    pfl_daemon_inet_spec("inet:no-such-service-x@host", &family, &port),
	    -1);
}

static void
test_nodelay_inherited(void **state)
{
	unsigned port;
	int lfd = listener(&port), cfd, afd;

	/* without it the accepted socket has Nagle on: the control */
	cfd = connect_to(port);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(nodelay_of(afd), 0);
	close(afd);
	close(cfd);

	/* set on the listener, every socket accepted later has it */
	assert_int_equal(pfl_daemon_nodelay(lfd), 0);
	cfd = connect_to(port);
	afd = accept(lfd, NULL, NULL);
	assert_true(afd >= 0);
	assert_int_equal(nodelay_of(afd), 1);
	assert_int_equal(nodelay_of(cfd), 0); /* the other end is not ours */
	close(afd);
	close(cfd);
	close(lfd);
}

static void
test_nodelay_not_tcp(void **state)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(pfl_daemon_nodelay(sv[0]), -1);
	close(sv[0]);
	close(sv[1]);
	assert_int_equal(pfl_daemon_nodelay(-1), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inet_spec),
		cmocka_unit_test(test_nodelay_inherited),
		cmocka_unit_test(test_nodelay_not_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
