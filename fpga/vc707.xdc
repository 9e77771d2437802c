# VC707 (xc7vx485tffg1761-2) pins and timing of fpga/rtl/vc707_top.sv.
# Pins from the VC707 user guide (UG885) and Xilinx's VC707 board files.

# 200 MHz differential system clock (SYSCLK_P/N, LVDS)
set_property -dict {PACKAGE_PIN E19 IOSTANDARD LVDS} [get_ports sys_clk_p_i]
set_property -dict {PACKAGE_PIN E18 IOSTANDARD LVDS} [get_ports sys_clk_n_i]
create_clock -name sys_clk -period 5.000 [get_ports sys_clk_p_i]

# CPU_RESET push button, active high
set_property -dict {PACKAGE_PIN AV40 IOSTANDARD LVCMOS18} [get_ports cpu_reset_i]

# USB-UART bridge (CP2103). Board nets are named from the bridge's side: the FPGA receives on
# USB_UART_TX (AU33) and sends on USB_UART_RX (AU36), as in public VC707 designs' constraints.
set_property -dict {PACKAGE_PIN AU33 IOSTANDARD LVCMOS18} [get_ports uart_rx_i]
set_property -dict {PACKAGE_PIN AU36 IOSTANDARD LVCMOS18} [get_ports uart_tx_o]

# GPIO_LED_0 .. GPIO_LED_7
set_property -dict {PACKAGE_PIN AM39 IOSTANDARD LVCMOS18} [get_ports {led_o[0]}]
set_property -dict {PACKAGE_PIN AN39 IOSTANDARD LVCMOS18} [get_ports {led_o[1]}]
set_property -dict {PACKAGE_PIN AR37 IOSTANDARD LVCMOS18} [get_ports {led_o[2]}]
set_property -dict {PACKAGE_PIN AT37 IOSTANDARD LVCMOS18} [get_ports {led_o[3]}]
set_property -dict {PACKAGE_PIN AR35 IOSTANDARD LVCMOS18} [get_ports {led_o[4]}]
set_property -dict {PACKAGE_PIN AP41 IOSTANDARD LVCMOS18} [get_ports {led_o[5]}]
set_property -dict {PACKAGE_PIN AP42 IOSTANDARD LVCMOS18} [get_ports {led_o[6]}]
set_property -dict {PACKAGE_PIN AU39 IOSTANDARD LVCMOS18} [get_ports {led_o[7]}]

# The button and the serial input are synchronised in the design; LEDs and the serial output
# are slow. No I/O timing applies to them.
set_false_path -from [get_ports {cpu_reset_i uart_rx_i}]
set_false_path -to [get_ports {uart_tx_o led_o[*]}]

# Configuration bank at 1.8 V
set_property CFGBVS GND [current_design]
set_property CONFIG_VOLTAGE 1.8 [current_design]
