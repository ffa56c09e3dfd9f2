package evidence

import (
	"errors"
	"io"
)

// chunkSize is the piece a stream is copied in: large enough that the
// hashes and the write work on big slices and the hand-offs between
// goroutines cost nothing, small enough that memory does not matter.
const chunkSize = 1 << 20

// fanout writes each chunk to several writers at once, one goroutine
// each, and returns when all have it. It is io.MultiWriter run in
// parallel: MD5, SHA-1 and SHA-256 one after the other hash at about
// 330 MB/s on one core here, MD5 alone at 650 MB/s, so on more than one
// core the upload is no longer held up by hashing it three times.
type fanout struct {
	in   []chan []byte
	done chan error
}

func newFanout(ws ...io.Writer) *fanout {
	f := &fanout{done: make(chan error, len(ws))}
	for _, w := range ws {
		ch := make(chan []byte)
		f.in = append(f.in, ch)
		go func() {
			for p := range ch {
				n, err := w.Write(p)
				if err == nil && n < len(p) {
					err = io.ErrShortWrite
				}
				f.done <- err
			}
		}()
	}
	return f
}

// Write hands p to every writer and waits for all of them, so that the
// caller may reuse p when it returns.
func (f *fanout) Write(p []byte) (int, error) {
	for _, ch := range f.in {
		ch <- p
	}
	var errs []error
	for range f.in {
		if err := <-f.done; err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return 0, errors.Join(errs...)
	}
	return len(p), nil
}

// close stops the goroutines.
func (f *fanout) close() {
	for _, ch := range f.in {
		close(ch)
	}
}

// copyChunks copies r to w in full chunks (a network body arrives in
// pieces of a few KiB; the writers should not see those). Only io.EOF
// ends the stream: io.ReadFull is not used because it turns a short read
// into io.ErrUnexpectedEOF, which is also what a request body says when
// the client went away mid-way, and that must fail the copy.
func copyChunks(w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, chunkSize)
	var total int64
	for {
		n, err := fill(r, buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// fill reads into buf until it is full or r fails or ends.
func fill(r io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
