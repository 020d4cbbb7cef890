package engine

// pageBits sets the size of a task table page: 512 ids.
const pageBits = 9

const pageSize = 1 << pageBits

// tablePage is exactly 4 KiB, a size class of the allocator: its count of
// live tasks is kept beside it, in taskTable.live, not in it (4 KiB and 8
// bytes would take a 4.75 KiB block).
type tablePage [pageSize]*Task

// taskTable maps task ids to tasks. Ids are handed out in increasing order
// and mostly released in about that order, so a run of fixed-size pages
// indexed by id serves better than a hash map: no hashing and no rehashing as
// it grows, and the pages of released ids are dropped from the front.
// It is not safe for concurrent use; the runtime's mutex guards it.
type taskTable struct {
	base  int64        // page number of pages[0]
	pages []*tablePage // nil where every id of the page was released
	live  []int32      // live[i]: the tasks in pages[i]
	n     int
}

func (tt *taskTable) page(id int64) *tablePage {
	i := (id >> pageBits) - tt.base
	if i < 0 || i >= int64(len(tt.pages)) {
		return nil
	}
	return tt.pages[i]
}

// get returns the task with id, or nil.
func (tt *taskTable) get(id int64) *Task {
	if p := tt.page(id); p != nil {
		return p[id&(pageSize-1)]
	}
	return nil
}

// put adds t; its id must be larger than every id put before.
func (tt *taskTable) put(t *Task) {
	pn := t.ID >> pageBits
	if len(tt.pages) == 0 {
		tt.base = pn
	}
	i := pn - tt.base
	for int64(len(tt.pages)) <= i {
		tt.pages = append(tt.pages, nil)
		tt.live = append(tt.live, 0)
	}
	p := tt.pages[i]
	if p == nil {
		p = &tablePage{}
		tt.pages[i] = p
	}
	p[t.ID&(pageSize-1)] = t
	tt.live[i]++
	tt.n++
}

// remove deletes the task with id and reports whether it was there.
func (tt *taskTable) remove(id int64) bool {
	p := tt.page(id)
	if p == nil || p[id&(pageSize-1)] == nil {
		return false
	}
	p[id&(pageSize-1)] = nil
	i := (id >> pageBits) - tt.base
	tt.live[i]--
	tt.n--
	if tt.live[i] == 0 {
		tt.pages[i] = nil
		for len(tt.pages) > 0 && tt.pages[0] == nil {
			tt.pages, tt.live = tt.pages[1:], tt.live[1:]
			tt.base++
		}
	}
	return true
}

// len returns the number of tasks in the table.
func (tt *taskTable) len() int { return tt.n }

// each calls fn for every task in the table, in id order.
func (tt *taskTable) each(fn func(*Task)) {
	for _, p := range tt.pages {
		if p == nil {
			continue
		}
		for _, t := range p {
			if t != nil {
				fn(t)
			}
		}
	}
}
