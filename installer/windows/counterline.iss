; Inno Setup 6 script of the till's Windows installer: installs dist\counterline (the PyInstaller folder) for the
; current user or all users, with a Start menu entry and an optional desktop icon. Built by build.ps1, which passes
; /DAppVersion. NOT TRIED: written on Linux, never compiled or run (see build.ps1).
#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif

[Setup]
AppId={{5B0E7A52-6A0C-4B7B-9E0B-4C2B7C1C7D11}
AppName=Counterline
AppVersion={#AppVersion}
AppPublisher=Counterline
DefaultDirName={autopf}\Counterline
DefaultGroupName=Counterline
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\dist
OutputBaseFilename=counterline-setup-{#AppVersion}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
UninstallDisplayIcon={app}\counterline.exe

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
Source: "..\..\dist\counterline\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Counterline"; Filename: "{app}\counterline.exe"
Name: "{group}\Uninstall Counterline"; Filename: "{uninstallexe}"
Name: "{autodesktop}\Counterline"; Filename: "{app}\counterline.exe"; Tasks: desktopicon

[Run]
Filename: "{app}\counterline.exe"; Description: "Start Counterline"; Flags: nowait postinstall skipifsilent

; The data (database, logs, backups) is in the user's AppData folders (platformdirs) and stays on uninstall.
