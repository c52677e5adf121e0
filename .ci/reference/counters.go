package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// usage is what the process and the disk had done at one moment.
type usage struct {
	wchar, writeBytes int64
	// sectors is the device's sectors written, -1 when unknown.
	sectors int64
	cpu     time.Duration
}

// snapshot reads /proc/self/io, getrusage and the device's counters.
func snapshot(device string) usage {
	u := usage{sectors: sectorsWritten(device)}
	b, _ := os.ReadFile("/proc/self/io")
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, ": ")
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "wchar":
			u.wchar = n
		case "write_bytes":
			u.writeBytes = n
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.cpu = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	return u
}

// deviceOf is the block device holding dir's filesystem, as its
// /sys/dev/block name ("254:0"), or "" when there is none (tmpfs,
// overlay): the device counters are then left out.
func deviceOf(dir string) string {
	var st syscall.Stat_t
	if syscall.Stat(dir, &st) != nil {
		return ""
	}
	dev := uint64(st.Dev)
	major := (dev>>8)&0xfff | (dev>>32)&^uint64(0xfff)
	minor := dev&0xff | (dev>>12)&^uint64(0xff)
	name := fmt.Sprintf("%d:%d", major, minor)
	if _, err := os.Stat("/sys/dev/block/" + name + "/stat"); err != nil {
		return ""
	}
	return name
}

// sectorsWritten is the device's sectors written so far (the 7th field of
// its stat file), -1 when unknown.
func sectorsWritten(device string) int64 {
	if device == "" {
		return -1
	}
	b, err := os.ReadFile("/sys/dev/block/" + device + "/stat")
	f := strings.Fields(string(b))
	if err != nil || len(f) < 7 {
		return -1
	}
	n, err := strconv.ParseInt(f[6], 10, 64)
	if err != nil {
		return -1
	}
	return n
}
