package main

// pageBits sets the size of a task table page: 512 ids.
const pageBits = 9

const pageSize = 1 << pageBits

type tablePage struct {
	tasks [pageSize]*Task
	live  int
}

// taskTable maps task ids to tasks. Ids are handed out in increasing order
// and mostly released in about that order, so a run of fixed-size pages
// indexed by id serves better than a hash map: no hashing and no rehashing as
// it grows, and the pages of released ids are dropped from the front.
// It is not safe for concurrent use; the runtime's mutex guards it.
type taskTable struct {
	base  int64        // page number of pages[0]
	pages []*tablePage // nil where every id of the page was released
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
		return p.tasks[id&(pageSize-1)]
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
	}
	p := tt.pages[i]
	if p == nil {
		p = &tablePage{}
		tt.pages[i] = p
	}
	p.tasks[t.ID&(pageSize-1)] = t
	p.live++
	tt.n++
}

// remove deletes the task with id and reports whether it was there.
func (tt *taskTable) remove(id int64) bool {
	p := tt.page(id)
	if p == nil || p.tasks[id&(pageSize-1)] == nil {
		return false
	}
	p.tasks[id&(pageSize-1)] = nil
	p.live--
	tt.n--
	if p.live == 0 {
		tt.pages[(id>>pageBits)-tt.base] = nil
		for len(tt.pages) > 0 && tt.pages[0] == nil {
			tt.pages = tt.pages[1:]
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
		for _, t := range p.tasks {
			if t != nil {
				fn(t)
			}
		}
	}
}
