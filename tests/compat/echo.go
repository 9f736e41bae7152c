// The compatibility matrix's echo protocol in Go (net, crypto/sha256; see lib.sh).
// echo server PORT | echo client HOST PORT FILE
package main

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"os"
)

const block = 1 << 20

func sendAll(c net.Conn, data []byte) {
	for i := 0; i < len(data); i += block {
		j := i + block
		if j > len(data) {
			j = len(data)
		}
		if _, err := c.Write(data[i:j]); err != nil {
			panic(err)
		}
	}
}

func main() {
	if os.Args[1] == "server" {
		l, err := net.Listen("tcp", "127.0.0.1:"+os.Args[2])
		if err != nil {
			panic(err)
		}
		for {
			c, err := l.Accept()
			if err != nil {
				panic(err)
			}
			buf, err := io.ReadAll(c)
			if err != nil {
				panic(err)
			}
			fmt.Printf("RECV bytes=%d sha256=%x\n", len(buf), sha256.Sum256(buf))
			sendAll(c, buf)
			c.Close()
		}
	}
	data, err := os.ReadFile(os.Args[4])
	if err != nil {
		panic(err)
	}
	c, err := net.Dial("tcp", net.JoinHostPort(os.Args[2], os.Args[3]))
	if err != nil {
		panic(err)
	}
	sendAll(c, data)
	c.(*net.TCPConn).CloseWrite()
	buf, err := io.ReadAll(c)
	if err != nil {
		panic(err)
	}
	fmt.Printf("RECV bytes=%d sha256=%x\n", len(buf), sha256.Sum256(buf))
}
