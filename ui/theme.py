"""The look of the counter: large type and touch targets (48 px), the figure that matters readable from 2 m."""

# The colours a cashier reads meaning from (UI.md, Feedback): one place, used by the style sheet and the screens.
ERROR_RED = "#b91c1c"  # a refusal, with a low tone
GOOD_GREEN = "#166534"  # good news, with a high tone
WARN_AMBER = "#92400e"  # to check, refusing nothing (beyond stock, a short PIN), with a neutral tone
CURRENT_LINE = "#bfdbfe"  # the line F3, F4, F5 and F7 act on
FLASH_GREEN = "#bbf7d0"  # the line a scan just added or changed, for a moment

STYLE = """
QWidget { font-size: 17px; }
QMainWindow, QWidget#root { background: #f4f5f7; }
QLineEdit#scanField { font-size: 24px; padding: 8px; border: 3px solid #2563eb; border-radius: 6px; background: white; }
QLineEdit#productSearch, QLineEdit { min-height: 36px; padding: 2px 6px; }
QLabel#screenTitle { font-size: 24px; font-weight: 600; color: #111827; }
QLabel#bigFigure { font-size: 56px; font-weight: 700; color: #111827; }
QLabel#bigCaption { font-size: 18px; color: #4b5563; }
QLabel#hint { color: #4b5563; }
QWidget#messageBar { border-radius: 6px; }
QWidget#messageBar[level="error"] { background: @ERROR_RED; }
QWidget#messageBar[level="notice"] { background: @GOOD_GREEN; }
QWidget#messageBar[level="warning"] { background: @WARN_AMBER; }
QLabel#messageError { background: @ERROR_RED; color: white; font-size: 20px; font-weight: 600; padding: 6px 12px; }
QLabel#messageNotice { background: @GOOD_GREEN; color: white; font-size: 20px; font-weight: 600; padding: 6px 12px; }
QLabel#messageNotice[kind="warning"] { background: @WARN_AMBER; }
QPushButton#messageOk { background: white; color: #111827; font-weight: 600; }
QPushButton { min-height: 48px; padding: 4px 12px; border-radius: 6px; background: #e5e7eb; border: 1px solid #cbd5e1; }
QPushButton:hover { background: #dbeafe; }
QPushButton:disabled { color: #9ca3af; background: #f3f4f6; border: 1px solid #e5e7eb; }
QPushButton#primary { background: #2563eb; color: white; font-weight: 700; font-size: 20px; }
QPushButton#primary:disabled { background: #93c5fd; color: #eff6ff; }
QPushButton#danger { background: #fee2e2; color: #991b1b; }
QPushButton#danger:disabled { color: #d1a3a3; background: #fdf2f2; border: 1px solid #f3e1e1; }
QTableView, QTableWidget { background: white; font-size: 18px; gridline-color: #e5e7eb; }
QHeaderView::section { font-size: 15px; padding: 6px; background: #e5e7eb; border: none; }
QStatusBar QLabel { padding: 0 4px; font-size: 13px; }
QTabBar::tab { min-height: 40px; padding: 4px 16px; font-size: 16px; }
QPushButton#navButton { font-size: 13px; padding: 4px 5px; }
QPushButton#navButton[current="true"] { background: #bfdbfe; border: 1px solid #2563eb; color: #1e3a8a; }
QWidget#signIn QListWidget#userList::item { min-height: 48px; font-size: 20px; }
QWidget#signIn QLineEdit#pinField { font-size: 32px; padding: 8px; }
QWidget#signIn QPushButton { font-size: 28px; }
QLabel#signInStatus { color: @ERROR_RED; font-size: 20px; font-weight: 600; }
"""
for _name, _colour in (("@ERROR_RED", ERROR_RED), ("@GOOD_GREEN", GOOD_GREEN), ("@WARN_AMBER", WARN_AMBER)):
    STYLE = STYLE.replace(_name, _colour)
