#!/usr/bin/perl
# The compatibility matrix's echo protocol in Perl with IO::Socket::INET (see lib.sh).
# echo.pl server PORT | echo.pl client HOST PORT FILE
use strict;
use warnings;
use IO::Socket::INET;
use Digest::SHA qw(sha256_hex);
use Socket qw(SHUT_WR);

my $BLOCK = 1 << 20;
$| = 1;

sub slurp_sock {
	my ($s) = @_;
	my $buf = '';
	while (1) {
		my $n = sysread($s, $buf, $BLOCK, length $buf);
		die "read: $!" unless defined $n;
		last if $n == 0;
	}
	return $buf;
}

sub send_all {
	my ($s, $data) = @_;
	my $off = 0;
	while ($off < length $data) {
		my $len = length($data) - $off;
		$len = $BLOCK if $len > $BLOCK;
		my $n = syswrite($s, $data, $len, $off);
		die "write: $!" unless defined $n;
		$off += $n;
	}
}

my $mode = shift @ARGV;
if ($mode eq 'server') {
	my $l = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $ARGV[0],
		Listen => 16, ReuseAddr => 1, Proto => 'tcp') or die "listen: $@";
	while (my $c = $l->accept) {
		my $data = slurp_sock($c);
		printf "RECV bytes=%d sha256=%s\n", length $data, sha256_hex($data);
		send_all($c, $data);
		close $c;
	}
} else {
	my ($host, $port, $file) = @ARGV;
	open(my $fh, '<:raw', $file) or die "$file: $!";
	local $/;
	my $data = <$fh> // '';
	my $c = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp')
		or die "connect: $@";
	send_all($c, $data);
	shutdown($c, SHUT_WR);
	my $got = slurp_sock($c);
	printf "RECV bytes=%d sha256=%s\n", length $got, sha256_hex($got);
}
