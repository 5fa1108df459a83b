"""Sign-in: pick your name, enter your PIN on a large keypad, or scan your staff badge.

Nobody is preselected: a PIN typed before a name is chosen is refused here and spends nobody's tries. Lockout after
repeated wrong PINs shows a live countdown. The PIN is checked on the op helper's worker thread (argon2 takes a
noticeable fraction of a second), never on the GUI thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.domain import barcodes
from app.services import staff
from app.services.base import Actor
from app.services.staff import LockedOut, StaffView
from ui.context import AppContext


class SignInScreen(QWidget):
    signed_in = Signal(object)  # StaffView

    title = "Sign in"

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        # Styled by ui/theme.py's rules for #signIn (large keys, PIN and names): one style sheet for the app, none
        # per widget (each of those is parsed and kept apart, and made the start slower).
        self.setObjectName("signIn")
        outer = QHBoxLayout(self)
        left = QVBoxLayout()
        cap = QLabel(self.tr("Who are you?"))
        cap.setObjectName("screenTitle")
        left.addWidget(cap)
        self.users = QListWidget()
        self.users.setObjectName("userList")
        # A tap chooses a name; the keyboard stays in the PIN field (focus on the list would make a row current).
        self.users.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.users.currentItemChanged.connect(lambda *_: self._focus_pin())
        left.addWidget(self.users, 1)
        left.addWidget(QLabel(self.tr("Or scan your staff badge.")))
        outer.addLayout(left, 1)

        right = QVBoxLayout()
        self.pin = QLineEdit()
        self.pin.setObjectName("pinField")
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText(self.tr("PIN"))
        self.pin.setMaxLength(8)
        self.pin.returnPressed.connect(self.submit)
        right.addWidget(self.pin)
        grid = QGridLayout()
        keys = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "⌫", "0", "OK"]
        for i, k in enumerate(keys):
            b = QPushButton(k)
            b.setMinimumSize(96, 72)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            if k == "OK":
                b.setObjectName("primary")
                b.clicked.connect(self.submit)
            elif k == "⌫":
                b.clicked.connect(lambda: self.pin.backspace())
            else:
                b.clicked.connect(lambda _c=False, d=k: self.pin.insert(d))
            grid.addWidget(b, i // 3, i % 3)
        right.addLayout(grid)
        self.status = QLabel()
        self.status.setObjectName("signInStatus")
        self.status.setWordWrap(True)
        right.addWidget(self.status)
        right.addStretch(1)
        outer.addLayout(right, 1)

        self._lock_left = 0
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)
        ctx.router.register(self, {"badge": self._badge, "*": self._not_badge})

    def activate(self) -> None:
        self.pin.clear()
        self.ctx.ops.read(staff.list_users, self._fill)

    def _fill(self, users: list[StaffView]) -> None:
        self.users.clear()
        for u in users:
            if not u.active:
                continue
            item = QListWidgetItem(f"{u.display_name}  ·  {u.role.replace('_', ' ')}")
            item.setData(Qt.ItemDataRole.UserRole, u.username)
            self.users.addItem(item)
        # Nobody is chosen until the person taps their name: a PIN must never go to whoever is first in the list.
        self.users.setCurrentRow(-1)
        self.users.clearSelection()
        self.pin.setFocus()

    def chosen(self) -> str | None:
        """The sign-in name of the person chosen (highlighted) in the list, if any."""
        item = self.users.currentItem()
        if item is None or not item.isSelected():
            return None
        return str(item.data(Qt.ItemDataRole.UserRole))

    def submit(self) -> None:
        username = self.chosen()
        pin = self.pin.text()
        self.pin.clear()
        if username is None:
            self.status.setText(
                self.tr("Choose your name first (or scan your staff badge), then enter your PIN.")
            )
            self.ctx.sounds.bad()
            return
        if not pin:
            self.status.setText(self.tr("Enter your PIN."))
            return
        self.ctx.ops.run(
            lambda s, _a: staff.sign_in(s, username, pin), self._ok, self._refused, actor=Actor("sign-in")
        )

    def _focus_pin(self) -> None:
        self.pin.setFocus()

    def _badge(self, result: barcodes.ScanResult) -> None:
        assert isinstance(result, barcodes.InternalCode)  # the router sends only badges here
        value = result.value
        self.ctx.ops.run(
            lambda s, _a: staff.sign_in_badge(s, barcodes.internal_code("badge", value)),
            self._ok,
            self._refused,
            actor=Actor("sign-in"),
        )

    def _not_badge(self, result: barcodes.ScanResult) -> None:
        self.status.setText(self.tr("Sign in first: scan a staff badge or enter your PIN."))
        self.ctx.sounds.bad()

    def _ok(self, user: StaffView) -> None:
        self.status.clear()
        self._timer.stop()
        self.signed_in.emit(user)
        if user.pin_too_short:
            # After the window has taken the user (it clears the message bar on sign-in).
            self.ctx.messages.show_warning(  # amber and a neutral tone: not good news, and it refuses nothing
                self.tr(
                    "Your PIN is shorter than this store's minimum for a {0}: have a new one set in Office > Staff."
                ).format(user.role.replace("_", " "))
            )

    def _refused(self, message: str) -> None:
        self.status.setText(message)
        self.ctx.sounds.bad()
        if message.startswith("Too many"):
            # The countdown comes from the message the service gave: m:ss.
            try:
                m, s = message.rsplit(" ", 1)[1].rstrip(".").split(":")
                self._lock_left = int(m) * 60 + int(s)
                self._timer.start()
            except ValueError:
                pass

    def _tick(self) -> None:
        self._lock_left -= 1
        if self._lock_left <= 0:
            self._timer.stop()
            self.status.setText(self.tr("You can try again now."))
            return
        self.status.setText(str(LockedOut(self._lock_left)))
