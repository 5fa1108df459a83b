# Windows build of the till: the PyInstaller folder, then an installer made by Inno Setup 6 from counterline.iss.
#
#   powershell -ExecutionPolicy Bypass -File installer\windows\build.ps1
#
# Needs: Python 3.11 or newer (python.org, "py" launcher), Inno Setup 6 (ISCC.exe on PATH or in its default folder).
# What it makes: dist\counterline\ (the bundle) and dist\counterline-setup-<version>.exe.
#
# TRIED: nothing on Windows. This script and counterline.iss were written on Linux and have not been run; the spec
# they use (installer/pyinstaller/counterline.spec) was built and started on Linux only. pyzbar's wheel for Windows
# ships libzbar-64.dll and libiconv.dll, which PyInstaller's pyzbar hook collects; the Linux zbar step in the spec
# does not run on Windows. NOT TRIED: the build, the installer, starting the app, printers on Windows (python-escpos
# USB needs a WinUSB/libusb driver), code signing (unsigned installers meet SmartScreen warnings).
$ErrorActionPreference = "Stop"
$Root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $Root

if (-not (Test-Path ".venv-win\Scripts\python.exe")) { py -3 -m venv .venv-win }
& .venv-win\Scripts\python.exe -m pip install --upgrade pip
& .venv-win\Scripts\python.exe -m pip install ".[dev]"
& .venv-win\Scripts\python.exe -m PyInstaller --noconfirm --distpath dist --workpath build\pyinstaller `
    installer\pyinstaller\counterline.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }

# Smoke test: the bundle starts offscreen on a fresh data dir and leaves once its window is shown.
$Data = Join-Path $env:TEMP ("counterline-smoke-" + [guid]::NewGuid())
$env:QT_QPA_PLATFORM = "offscreen"; $env:COUNTERLINE_EXIT_WHEN_READY = "1"
& dist\counterline\counterline.exe --data-dir $Data --demo
if ($LASTEXITCODE -ne 0) { throw "the bundle did not start" }
Remove-Item Env:COUNTERLINE_EXIT_WHEN_READY, Env:QT_QPA_PLATFORM

$Version = (Select-String -Path pyproject.toml -Pattern '^version = "(.*)"').Matches[0].Groups[1].Value
$Iscc = (Get-Command ISCC.exe -ErrorAction SilentlyContinue).Source
if (-not $Iscc) { $Iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe" }
& $Iscc "/DAppVersion=$Version" installer\windows\counterline.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }
