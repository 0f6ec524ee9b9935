/* list.h - one intrusive doubly linked list, as seatd's common/linked_list.c: a `struct list`
 * head, and a `struct list` link embedded in each element (container_of() finds the element).
 * The head is a sentinel: head.next is the first element, head.prev the last. Called, never
 * re-implemented. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct list {
        struct list *prev, *next;
};

/* Makes head an empty list. */
static inline void list_init(struct list *head) {
        head->prev = head;
        head->next = head;
}

/* True when head holds no element; a zeroed head (never list_init'ed) counts as empty. */
static inline bool list_empty(const struct list *head) {
        return !head->next || head->next == head;
}

/* The first element's link, or NULL when the list is empty. */
static inline struct list *list_first(const struct list *head) {
        return list_empty(head) ? NULL : head->next;
}

/* Appends elem, which is in no list, at the end of head's list. */
static inline void list_insert_tail(struct list *head, struct list *elem) {
        elem->prev = head->prev;
        elem->next = head;
        head->prev->next = elem;
        head->prev = elem;
}

/* Takes elem out of its list; an elem in no list (zeroed or removed) is left alone. */
static inline void list_remove(struct list *elem) {
        if (!elem->next)
                return;
        elem->prev->next = elem->next;
        elem->next->prev = elem->prev;
        elem->prev = elem->next = NULL;
}
