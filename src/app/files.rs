//! Files in action: one picked or dropped on the page goes to the call, to the person chosen.

use super::{listen, Call, Inner};
use crate::error::Error;
use gloo_events::{EventListener, EventListenerOptions};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, EventTarget};

/// Listens to the file picker, and to files dragged over and dropped anywhere on the page.
pub(super) fn listen_to_files(inner: &Rc<Inner>) -> Vec<EventListener> {
    let mut listeners = vec![listen(
        inner,
        &inner.page.files.input,
        "change",
        |inner, _| {
            let input = &inner.page.files.input;
            if let Some(file) = input.files().and_then(|files| files.get(0)) {
                inner.send_file(&file);
            }
            // The same file may be sent again.
            input.set_value("");
        },
    )];
    listeners.push(listen(
        inner,
        inner.page.files.list(),
        "click",
        |inner, event| {
            let pressed = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|e| e.closest("button[data-action=remove]").ok().flatten());
            if let Some(button) = pressed {
                inner.page.files.remove(&button);
            }
        },
    ));
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return listeners;
    };
    let target: &EventTarget = document.as_ref();
    // The browser opens a dropped file in place of the page unless both are cancelled.
    let options = EventListenerOptions::enable_prevent_default();
    let weak = Rc::downgrade(inner);
    listeners.push(EventListener::new_with_options(
        target,
        "dragover",
        options,
        move |event| {
            if let (Some(inner), Some(drag)) = (weak.upgrade(), event.dyn_ref::<DragEvent>()) {
                if carries_files(drag) {
                    event.prevent_default();
                    inner.dropping(true);
                }
            }
        },
    ));
    let weak = Rc::downgrade(inner);
    listeners.push(EventListener::new_with_options(
        target,
        "drop",
        options,
        move |event| {
            let (Some(inner), Some(drag)) = (weak.upgrade(), event.dyn_ref::<DragEvent>()) else {
                return;
            };
            inner.dropping(false);
            let file = drag
                .data_transfer()
                .and_then(|d| d.files())
                .and_then(|files| files.get(0));
            if let Some(file) = file {
                event.prevent_default();
                inner.send_file(&file);
            }
        },
    ));
    listeners.push(listen(inner, target, "dragleave", |inner, event| {
        // Leaving the window, not just an element in it.
        if event
            .dyn_ref::<DragEvent>()
            .is_some_and(|d| d.related_target().is_none())
        {
            inner.dropping(false);
        }
    }));
    listeners
}

/// A drag that carries files, not text or a link.
fn carries_files(drag: &DragEvent) -> bool {
    drag.data_transfer()
        .is_some_and(|d| d.types().includes(&"Files".into(), 0))
}

impl Inner {
    fn send_file(self: &Rc<Self>, file: &web_sys::File) {
        let state = self.state.borrow();
        let sent = match &state.call {
            Some(Call::Loopback(call)) => call.files().send(file),
            Some(Call::Room(call)) => call.send_file(file, self.page.files.chosen().as_deref()),
            None => Err(Error::FileRefused(
                "Files go over a call: press Start, then Call, and send it once the call is connected."
                    .to_owned(),
            )),
        };
        if let Err(error) = sent {
            self.page.error(&error);
        }
    }

    /// Shows that a drop here sends the file.
    fn dropping(&self, on: bool) {
        if let Some(body) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
        {
            let _ = body.toggle_attribute_with_force("data-dropping", on);
        }
    }
}
